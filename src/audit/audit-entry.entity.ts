import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property, type Rel } from "@mikro-orm/core";
import { Account } from "../access/account.entity.js";
import { User } from "../access/user.entity.js";

/** One security-relevant event of an account: who, what, when, from where, and how it ended. */
@Entity({ tableName: "audit_entry" })
@Index({ properties: ["account", "id"] })
export class AuditEntry {
  [OptionalProps]?: "createdAt" | "detail" | "actor";

  @PrimaryKey({ type: "integer", autoincrement: true })
  id!: number;

  @ManyToOne(() => Account, { deleteRule: "cascade" })
  account!: Rel<Account>;

  /** The user who acted; null for calls no user could be tied to (e.g. a token request with a wrong secret). */
  @ManyToOne(() => User, { nullable: true, deleteRule: "set null" })
  actor: Rel<User> | null = null;

  @Property({ type: "string", length: 64 })
  action!: string;

  @Property({ type: "string", length: 32 })
  outcome!: string;

  @Property({ type: "string", length: 64 })
  clientAddress!: string;

  /** A short human-readable detail; never a secret. */
  @Property({ type: "string", length: 500, nullable: true })
  detail: string | null = null;

  @Property({ type: "datetime" })
  createdAt: Date = new Date();
}
