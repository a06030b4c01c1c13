import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique, type Rel } from "@mikro-orm/core";
import { randomUUID } from "node:crypto";
import { User } from "../access/user.entity.js";

/**
 * A one-time invitation to set a password: for a user invited to an account (its Owner by provisioning, the
 * others by the Owner), or for one whose password the Owner reset. Only the token's keyed hash is stored; it
 * expires, and it is used at most once (`usedAt`). A newer invitation of the same user replaces the older ones.
 */
@Entity({ tableName: "invitation" })
@Unique({ name: "invitation_token_hash_unique", properties: ["tokenHash"] })
@Index({ name: "invitation_user_index", properties: ["user"] })
export class Invitation {
  [OptionalProps]?: "usedAt" | "createdAt";

  @PrimaryKey({ type: "string", length: 36 })
  id: string = randomUUID();

  @ManyToOne(() => User, { deleteRule: "cascade", index: false })
  user!: Rel<User>;

  /** Keyed hash of the token (see `SecretHasher` in `credentials/keys.ts`). */
  @Property({ type: "string", length: 128 })
  tokenHash!: string;

  @Property({ type: "datetime" })
  expiresAt!: Date;

  @Property({ type: "datetime", nullable: true })
  usedAt: Date | null = null;

  @Property({ type: "datetime" })
  createdAt: Date = new Date();
}
