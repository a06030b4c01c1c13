import { Entity, JsonType, OneToOne, OptionalProps, Property, type Rel } from "@mikro-orm/core";
import { Account } from "../access/account.entity.js";
import { User } from "../access/user.entity.js";

/**
 * An account's API access: its API user, whether it is active, the IP whitelist, and the current API key with
 * the keyed hash of its secret (never the secret itself).
 */
@Entity({ tableName: "api_access" })
export class ApiAccess {
  [OptionalProps]?: "apiUser" | "active" | "ipWhitelist" | "apiKey" | "secretHash" | "keyCreatedAt" | "keyLastUsedAt" | "updatedAt";

  @OneToOne(() => Account, { primary: true, deleteRule: "cascade", fieldName: "account_id" })
  account!: Rel<Account>;

  /** Created by the first activation; null while API access was only prepared (e.g. a whitelist set first). */
  @OneToOne(() => User, {
    nullable: true,
    deleteRule: "set null",
    fieldName: "api_user_id",
    unique: "api_access_api_user_id_unique",
  })
  apiUser: Rel<User> | null = null;

  @Property({ type: "boolean" })
  active: boolean = false;

  /** Normalised addresses and CIDR ranges; empty means no restriction, as on the platform. */
  @Property({ type: JsonType })
  ipWhitelist: string[] = [];

  /** The public key id (client_id), null until credentials are first generated. */
  @Property({ type: "string", length: 64, nullable: true, unique: "api_access_api_key_unique" })
  apiKey: string | null = null;

  /** Keyed hash of the secret (see `SecretHasher` in `keys.ts`). */
  @Property({ type: "string", length: 128, nullable: true })
  secretHash: string | null = null;

  @Property({ type: "datetime", nullable: true })
  keyCreatedAt: Date | null = null;

  @Property({ type: "datetime", nullable: true })
  keyLastUsedAt: Date | null = null;

  @Property({ type: "datetime" })
  updatedAt: Date = new Date();
}
