import { Entity, OptionalProps, PrimaryKey, Property } from "@mikro-orm/core";
import { randomUUID } from "node:crypto";

/** The merchant's legal entity: every user and wallet belongs to exactly one account. */
@Entity({ tableName: "account" })
export class Account {
  [OptionalProps]?: "createdAt" | "accessVersion" | "suspendedAt";

  @PrimaryKey({ type: "string", length: 36 })
  id: string = randomUUID();

  @Property({ type: "string", length: 200 })
  name!: string;

  @Property({ type: "datetime" })
  createdAt: Date = new Date();

  /**
   * Grows with every change of who may see what in this account (grants, API user state, API key, whitelist),
   * so that every instance can tell cheaply when open subscriptions must be checked again.
   */
  @Property({ type: "integer", default: 0 })
  accessVersion: number = 0;

  /** When the platform suspended the account; while set, its users and API user are refused. */
  @Property({ type: "datetime", nullable: true })
  suspendedAt: Date | null = null;
}
