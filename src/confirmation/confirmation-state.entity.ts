import { BigIntType, Entity, OneToOne, OptionalProps, Property, type Rel } from "@mikro-orm/core";
import { User } from "../access/user.entity.js";

/**
 * One failure counter per user for step-up confirmation, shared by every address, alias, batch and instance.
 * Times are epoch milliseconds of the service clock.
 */
@Entity({ tableName: "confirmation_state" })
export class ConfirmationState {
  [OptionalProps]?: "failures" | "blockedUntil" | "inFlightUntil" | "lastTotpStep";

  @OneToOne(() => User, { primary: true, deleteRule: "cascade", fieldName: "user_id" })
  user!: Rel<User>;

  /** Failed confirmations since the last success (or since the last lock ended). */
  @Property({ type: "integer" })
  failures: number = 0;

  /** No confirmation is evaluated before this time: the back-off after 5 failures, or the lock after 10. */
  @Property({ type: new BigIntType("number"), nullable: true })
  blockedUntil: number | null = null;

  /** A confirmation of this user is being evaluated until this time; others wait (one at a time). */
  @Property({ type: new BigIntType("number"), nullable: true })
  inFlightUntil: number | null = null;

  /** The last TOTP time step used successfully; a code of this step or an earlier one is refused. */
  @Property({ type: new BigIntType("number"), nullable: true })
  lastTotpStep: number | null = null;
}
