import { Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property, type Rel } from "@mikro-orm/core";
import { Account } from "../access/account.entity.js";
import { WalletRole } from "../access/roles.js";
import { User } from "../access/user.entity.js";

/** One security-relevant event of an account: who, what, when, from where, and how it ended. */
@Entity({ tableName: "audit_entry" })
@Index({ properties: ["account", "id"] })
export class AuditEntry {
  [OptionalProps]?: "createdAt" | "detail" | "actor" | "targetUser" | "walletId" | "previousRole" | "role";

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

  /**
   * The user whose wallet access the operation was about, once it was found in the account (or created by it);
   * null when it was not. A reference, not a copy of the e-mail, so that the entry never shows a stale address.
   */
  @ManyToOne(() => User, { nullable: true, deleteRule: "set null" })
  targetUser: Rel<User> | null = null;

  /**
   * The wallet the operation was about, once it was found in the account; null when it was not. A plain id
   * rather than a foreign key: a reference would have to be cleared (or the entry deleted) when the wallet goes,
   * and the log must keep saying which wallet it was. Only ids that resolved to a wallet of the account are
   * stored, so no caller's input lands here unchecked.
   */
  @Property({ type: "string", length: 64, nullable: true })
  walletId: string | null = null;

  /** The role held before the operation (role changes and revocations), once the grant was found. */
  @Enum({ items: () => WalletRole, type: "string", length: 32, nullable: true })
  previousRole: WalletRole | null = null;

  /** The role asked for (grants and role changes). */
  @Enum({ items: () => WalletRole, type: "string", length: 32, nullable: true })
  role: WalletRole | null = null;
}
