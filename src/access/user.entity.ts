import { Entity, Enum, ManyToOne, OptionalProps, PrimaryKey, Property, Unique, type Rel } from "@mikro-orm/core";
import { randomUUID } from "node:crypto";
import { Account } from "./account.entity.js";
import { UserKind } from "./roles.js";

/**
 * A person or the account's API user. At most one user per account is its Owner (a partial unique index in the
 * migrations enforces it). The TOTP secret is kept AES-256-GCM encrypted, bound to the user id.
 */
@Entity({ tableName: "app_user" })
@Unique({ properties: ["account", "email"] })
@Unique({
  name: "app_user_one_owner_per_account",
  expression: `create unique index "app_user_one_owner_per_account" on "app_user" ("account_id") where "is_owner" = true`,
})
export class User {
  [OptionalProps]?: "kind" | "isOwner" | "passwordHash" | "totpSecretEncrypted" | "pendingTotpSecretEncrypted" | "createdAt";

  @PrimaryKey({ type: "string", length: 36 })
  id: string = randomUUID();

  @ManyToOne(() => Account, { deleteRule: "cascade" })
  account!: Rel<Account>;

  /** Lower-cased e-mail address, unique within the account. */
  @Property({ type: "string", length: 254 })
  email!: string;

  @Enum({ items: () => UserKind, type: "string", length: 16 })
  kind: UserKind = UserKind.HUMAN;

  @Property({ type: "boolean" })
  isOwner: boolean = false;

  /** argon2id PHC string; null for users who never set a password here. */
  @Property({ type: "text", nullable: true, lazy: true })
  passwordHash: string | null = null;

  /** Encrypted TOTP secret (see `credentials/secret-box.ts`); null until enrolled. */
  @Property({ type: "text", nullable: true, lazy: true })
  totpSecretEncrypted: string | null = null;

  @Property({ type: "datetime" })
  createdAt: Date = new Date();

  /**
   * An authenticator being turned on, encrypted as the active one: it counts only once a first code from it is
   * confirmed (see `enrolment/`).
   */
  @Property({ type: "text", nullable: true, lazy: true })
  pendingTotpSecretEncrypted: string | null = null;
}
