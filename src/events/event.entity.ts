import { Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique, type Rel } from "@mikro-orm/core";
import { Account } from "../access/account.entity.js";
import { Wallet } from "../wallets/wallet.entity.js";
import { CallbackEventKind } from "./event.js";

/**
 * The table of the event log, as the ORM and the migrations checks see it (the code reads and writes it through
 * `event.ts`). A verified callback, stored once. `sequence` numbers an account's events in commit order, which is
 * what cursors and resumption rely on. Two unique keys make a delivery idempotent (see `idempotencyKeys`):
 * `signedKey` covers the signed message (a replay with altered unsigned fields is the same event), `resendKey` the
 * operation's state (a resend with a new `meta.time` is the same event). Statuses are the platform's codes, kept
 * as sent. Deleting the wallet or account of a stored event is refused
 * (retention is what removes events).
 */
@Entity({ tableName: "callback_event" })
@Unique({ name: "callback_event_account_sequence_unique", properties: ["account", "sequence"] })
@Unique({ name: "callback_event_signed_key_unique", properties: ["signedKey"] })
@Unique({ name: "callback_event_resend_key_unique", properties: ["resendKey"] })
@Index({ name: "callback_event_wallet_index", properties: ["wallet"] })
export class CallbackEvent {
  [OptionalProps]?:
    | "receivedAt"
    | "traceContext"
    | "operationStatus"
    | "transferId"
    | "transferStatus"
    | "amount"
    | "amountCleared"
    | "commission"
    | "fee"
    | "currency"
    | "txid"
    | "signedKey"
    | "resendKey"
    | "replayOf";

  @PrimaryKey({ type: "string", length: 36 })
  id!: string;

  @ManyToOne(() => Account, { deleteRule: "restrict", index: false })
  account!: Rel<Account>;

  @Property({ type: "integer" })
  sequence!: number;

  @ManyToOne(() => Wallet, { deleteRule: "restrict", index: false })
  wallet!: Rel<Wallet>;

  @Enum({ items: () => CallbackEventKind, type: "string", length: 16 })
  kind!: CallbackEventKind;

  @Property({ type: "string", length: 64 })
  operationId!: string;

  @Property({ type: "string", length: 255 })
  trackingId!: string;

  /** The deposit's or payout's own status code (`data.attributes.status`), when sent. */
  @Property({ type: "integer", nullable: true })
  operationStatus: number | null = null;

  @Property({ type: "string", length: 64, nullable: true })
  transferId: string | null = null;

  @Property({ type: "integer", nullable: true })
  transferStatus: number | null = null;

  @Property({ type: "string", length: 80, nullable: true })
  amount: string | null = null;

  @Property({ type: "string", length: 80, nullable: true })
  amountCleared: string | null = null;

  @Property({ type: "string", length: 80, nullable: true })
  commission: string | null = null;

  @Property({ type: "string", length: 80, nullable: true })
  fee: string | null = null;

  @Property({ type: "string", length: 32, nullable: true })
  currency: string | null = null;

  @Property({ type: "string", length: 255, nullable: true })
  txid: string | null = null;

  /** `meta.time` exactly as signed. */
  @Property({ type: "string", length: 64 })
  signedAt!: string;

  @Property({ type: "datetime" })
  receivedAt: Date = new Date();

  /** The signed message's last characters, ":", and SHA-256 over account and signed message; null when `replayOf` is set. */
  @Property({ type: "string", length: 129, nullable: true })
  signedKey: string | null = null;

  /** The operation id, ":", and SHA-256 over account, kind, operation, transfer and statuses; null when `replayOf` is set. */
  @Property({ type: "string", length: 129, nullable: true })
  resendKey: string | null = null;

  /**
   * On an event stored before the signed message identified a callback: the earliest event of the account with the
   * same signed message, which keeps the keys (this one cannot be told from a re-cut of it).
   */
  @Property({ type: "string", length: 36, nullable: true })
  replayOf: string | null = null;

  /** The body as received, kept for audit. */
  @Property({ type: "text", lazy: true })
  payload!: string;

  /**
   * The W3C trace context (`traceparent`) of the ingress span that stored the event, so that its deliveries, on any
   * instance, join that trace; null when tracing is off.
   */
  @Property({ type: "string", length: 128, nullable: true })
  traceContext: string | null = null;
}

/**
 * The idempotency keys of events pruned by retention, kept on so that a late redelivery or resend of a pruned
 * event is still recognised; each until `expiresAt` (null: for good).
 */
@Entity({ tableName: "retained_key" })
export class RetainedKey {
  /** A signed or resend key, as `callback_event` held it (`idempotencyKeys`). */
  @PrimaryKey({ type: "string", length: 129 })
  key!: string;

  @Property({ type: "datetime", nullable: true })
  expiresAt: Date | null = null;
}

/** The last sequence number given to an account's events; its row lock orders concurrent commits. */
@Entity({ tableName: "event_sequence" })
export class EventSequence {
  @PrimaryKey({ type: "string", length: 36 })
  accountId!: string;

  @Property({ type: "integer" })
  value!: number;

  /** The highest sequence number retention pruned (0: none): a cursor below it would skip events. */
  @Property({ type: "integer", default: 0 })
  prunedThrough: number = 0;
}
