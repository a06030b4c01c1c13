import { BigIntType, Entity, PrimaryKey, Property } from "@mikro-orm/core";

/** Failed calls of one key (e.g. a client address on /token) within one fixed one-minute window. */
@Entity({ tableName: "rate_limit_window" })
export class RateLimitWindow {
  @PrimaryKey({ type: "string", length: 128 })
  key!: string;

  /** Start of the window, epoch milliseconds. */
  @PrimaryKey({ type: new BigIntType("number") })
  windowStart!: number;

  @Property({ type: "integer" })
  hits!: number;
}
