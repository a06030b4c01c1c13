import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property, type Rel } from "@mikro-orm/core";
import { randomUUID } from "node:crypto";
import { Account } from "../access/account.entity.js";

/**
 * A callback secret of an account, sealed with AES-256-GCM (account and secret id bound as associated data).
 * The current secret has no expiry; a previous one kept for an overlap has `expiresAt` set.
 */
@Entity({ tableName: "callback_secret" })
@Index({ properties: ["account", "expiresAt"] })
export class CallbackSecret {
  [OptionalProps]?: "createdAt" | "expiresAt";

  @PrimaryKey({ type: "string", length: 36 })
  id: string = randomUUID();

  @ManyToOne(() => Account, { deleteRule: "cascade" })
  account!: Rel<Account>;

  @Property({ type: "text" })
  sealed!: string;

  @Property({ type: "datetime" })
  createdAt: Date = new Date();

  @Property({ type: "datetime", nullable: true })
  expiresAt: Date | null = null;
}
