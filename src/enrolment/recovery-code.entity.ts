import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique, type Rel } from "@mikro-orm/core";
import { randomUUID } from "node:crypto";
import { User } from "../access/user.entity.js";

/**
 * A recovery code, usable once instead of a one-time code when the authenticator is lost. Shown once when the
 * authenticator is turned on; only its keyed hash is stored.
 */
@Entity({ tableName: "recovery_code" })
@Unique({ name: "recovery_code_code_hash_unique", properties: ["codeHash"] })
@Index({ name: "recovery_code_user_index", properties: ["user"] })
export class RecoveryCode {
  [OptionalProps]?: "usedAt" | "createdAt";

  @PrimaryKey({ type: "string", length: 36 })
  id: string = randomUUID();

  @ManyToOne(() => User, { deleteRule: "cascade", index: false })
  user!: Rel<User>;

  /** Keyed hash of the code (see `SecretHasher` in `credentials/keys.ts`). */
  @Property({ type: "string", length: 128 })
  codeHash!: string;

  @Property({ type: "datetime", nullable: true })
  usedAt: Date | null = null;

  @Property({ type: "datetime" })
  createdAt: Date = new Date();
}
