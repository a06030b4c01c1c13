/** Deposit or payout callback. */
export enum CallbackEventKind {
  DEPOSIT = "DEPOSIT",
  PAYOUT = "PAYOUT",
}

/** The platform's transfer status codes. */
export enum TransferStatus {
  CANCELED = -3,
  BLOCKED = -2,
  FAILED = -1,
  CREATED = 0,
  UNCONFIRMED = 1,
  CONFIRMED = 2,
}

/** What the platform's callback signature covers, exactly as sent (see `callbacks/callback-signature.ts`). */
export interface SignedFields {
  /** `transfer.status`, the integer rendered as decimal text (e.g. "2", "-1"). */
  status: string;
  /** `transfer.amount`, the string exactly as sent (never re-formatted). */
  amount: string;
  /** `data.attributes.tracking_id` of the deposit or payout ("" when empty). */
  trackingId: string;
  /** `meta.time`, as sent. */
  time: string;
}

/** What the platform says of a deposit or payout, as stored and as read back. */
export interface EventFields {
  kind: CallbackEventKind;
  operationId: string;
  trackingId: string;
  transferId: string;
  transferStatus: TransferStatus;
  amount: string;
  commission: string | null;
  fee: string | null;
  currency: string | null;
  txid: string | null;
}

/** A verified callback, as the event log stores it. */
export interface NewEvent extends EventFields {
  accountId: string;
  walletId: string;
  /** What the signature covered: the idempotency keys come from it (see `batch-plan.ts`). */
  signed: SignedFields;
  /** The body as received, kept for audit. */
  payload: string;
  receivedAt: Date;
}

/** A stored event, as readers (history, subscriptions) see it. Its wallet is known by id only. */
export interface StoredEvent extends EventFields {
  id: string;
  sequence: number;
  wallet: { id: string };
  signedAt: string;
  receivedAt: Date;
}

/** How the log answered one appended event. */
export type WriteResult =
  | { stored: true; accountId: string; sequence: number }
  /** Already stored: a replay or a resend. `sameTransfer` is false when only the signed fields matched. */
  | { stored: false; sameTransfer: boolean };

/**
 * The columns of `callback_event` (the table `event.entity.ts` declares and the migrations create), in the order
 * the adapters write them. This file is the one place the code spells them: rows are made by `rowOf` and read by
 * `storedOf`.
 */
export const EVENT_COLUMNS = [
  "id", "account_id", "sequence", "wallet_id", "kind", "operation_id", "tracking_id", "transfer_id", "transfer_status",
  "amount", "commission", "fee", "currency", "txid", "signed_at", "received_at", "signed_key", "transfer_key", "payload",
] as const;

/** A row of `callback_event`, keyed by column, as written. */
export type EventRow = Record<(typeof EVENT_COLUMNS)[number], string | number | null>;

/** The columns a `StoredEvent` is read from. */
export const READ_COLUMNS = [
  "id", "sequence", "wallet_id", "kind", "operation_id", "tracking_id", "transfer_id", "transfer_status", "amount",
  "commission", "fee", "currency", "txid", "signed_at", "received_at",
] as const;

/** A row as the drivers return it (numbers may come as text, dates as milliseconds or as dates). */
export type ReadRow = Record<(typeof READ_COLUMNS)[number], unknown>;

/** An event's row but for its sequence number, which its transaction gives it. */
export function rowOf(
  event: NewEvent,
  stored: { id: string; signedKey: string; transferKey: string; receivedAt: string | number },
): Omit<EventRow, "sequence"> {
  return {
    id: stored.id,
    account_id: event.accountId,
    wallet_id: event.walletId,
    kind: event.kind,
    operation_id: event.operationId,
    tracking_id: event.trackingId,
    transfer_id: event.transferId,
    transfer_status: event.transferStatus,
    amount: event.amount,
    commission: event.commission,
    fee: event.fee,
    currency: event.currency,
    txid: event.txid,
    signed_at: event.signed.time,
    received_at: stored.receivedAt,
    signed_key: stored.signedKey,
    transfer_key: stored.transferKey,
    payload: event.payload,
  };
}

const text = (value: unknown) => value as string;
const optional = (value: unknown) => (value === null || value === undefined ? null : (value as string));

/** A row read back as an event. */
export function storedOf(row: ReadRow): StoredEvent {
  return {
    id: text(row.id),
    sequence: Number(row.sequence),
    wallet: { id: text(row.wallet_id) },
    kind: row.kind as CallbackEventKind,
    operationId: text(row.operation_id),
    trackingId: text(row.tracking_id),
    transferId: text(row.transfer_id),
    transferStatus: Number(row.transfer_status) as TransferStatus,
    amount: text(row.amount),
    commission: optional(row.commission),
    fee: optional(row.fee),
    currency: optional(row.currency),
    txid: optional(row.txid),
    signedAt: text(row.signed_at),
    // Milliseconds on the embedded database, a date on PostgreSQL.
    receivedAt: new Date(row.received_at as number | Date),
  };
}
