import { Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique, type Rel } from "@mikro-orm/core";
import { Account } from "../access/account.entity.js";
import { Wallet } from "../wallets/wallet.entity.js";
import { CallbackEventKind, type TransferStatus } from "./event.js";

/**
 * The table of the event log, as the ORM and the migrations checks see it (the code reads and writes it through
 * `event.ts`). A verified callback, stored once. `sequence` numbers an account's events in commit order, which is
 * what cursors and resumption rely on. Two unique keys make a delivery idempotent:
 * `signedKey` covers the signed fields (a replay with altered unsigned fields is the same event), `transferKey`
 * the transfer and its status (a resend with a new `meta.time` is the same event).
 */
@Entity({ tableName: "callback_event" })
@Unique({ name: "callback_event_account_sequence_unique", properties: ["account", "sequence"] })
@Unique({ name: "callback_event_signed_key_unique", properties: ["signedKey"] })
@Unique({ name: "callback_event_transfer_key_unique", properties: ["transferKey"] })
@Index({ name: "callback_event_wallet_index", properties: ["wallet"] })
export class CallbackEvent {
  [OptionalProps]?: "receivedAt" | "commission" | "fee" | "currency" | "txid";

  @PrimaryKey({ type: "string", length: 36 })
  id!: string;

  @ManyToOne(() => Account, { deleteRule: "cascade", index: false })
  account!: Rel<Account>;

  @Property({ type: "integer" })
  sequence!: number;

  @ManyToOne(() => Wallet, { deleteRule: "cascade", index: false })
  wallet!: Rel<Wallet>;

  @Enum({ items: () => CallbackEventKind, type: "string", length: 16 })
  kind!: CallbackEventKind;

  @Property({ type: "string", length: 64 })
  operationId!: string;

  @Property({ type: "string", length: 255 })
  trackingId!: string;

  @Property({ type: "string", length: 64 })
  transferId!: string;

  @Property({ type: "smallint" })
  transferStatus!: TransferStatus;

  @Property({ type: "string", length: 80 })
  amount!: string;

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

  /** The signed time, ":", and SHA-256 over account and the signed fields: status, amount, tracking id and time. */
  @Property({ type: "string", length: 129 })
  signedKey!: string;

  /** The transfer id, ":", and SHA-256 over account, kind, transfer id and status. */
  @Property({ type: "string", length: 129 })
  transferKey!: string;

  /** The body as received, kept for audit. */
  @Property({ type: "text", lazy: true })
  payload!: string;
}

/** The last sequence number given to an account's events; its row lock orders concurrent commits. */
@Entity({ tableName: "event_sequence" })
export class EventSequence {
  @PrimaryKey({ type: "string", length: 36 })
  accountId!: string;

  @Property({ type: "integer" })
  value!: number;
}
