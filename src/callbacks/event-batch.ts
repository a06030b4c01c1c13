import { hash, randomUUID } from "node:crypto";
import type { ParsedCallback } from "./callback-payload.js";

/** One verified callback to store. */
export interface EventInput {
  accountId: string;
  walletId: string;
  callback: ParsedCallback;
  /** The body as received, kept for audit. */
  payload: string;
  receivedAt: Date;
}

export type WriteResult =
  | { stored: true; accountId: string; sequence: number }
  /** Already stored: a replay or a resend. `sameTransfer` is false when only the signed fields matched. */
  | { stored: false; sameTransfer: boolean };

/** SHA-256 (hex) over the parts, each followed by a NUL byte. */
function sha256(...parts: string[]): string {
  let text = "";
  for (const part of parts) text += `${part}\u0000`;
  return hash("sha256", text, "hex");
}

/**
 * Idempotency keys: the signed fields (time included), and the transfer with its status; each a SHA-256 over them.
 * The hash alone decides; it is led by the signed time and by the transfer id, which grow as the platform goes on,
 * so that a batch's new keys land on the same few pages at the end of their unique indexes instead of each on a
 * random page (fewer pages for a commit to write).
 */
export function idempotencyKeys(input: Pick<EventInput, "accountId" | "callback">): { signedKey: string; transferKey: string } {
  const { accountId, callback } = input;
  const { status, amount, trackingId, time } = callback.signedFields;
  return {
    signedKey: `${time}:${sha256(accountId, status, amount, trackingId, time)}`,
    transferKey: `${callback.transferId}:${sha256(accountId, callback.kind, callback.transferId, String(callback.transferStatus))}`,
  };
}

/** The columns of `callback_event`, in the order the stores write them. */
export const EVENT_COLUMNS = [
  "id", "account_id", "sequence", "wallet_id", "kind", "operation_id", "tracking_id", "transfer_id", "transfer_status",
  "amount", "commission", "fee", "currency", "txid", "signed_at", "received_at", "signed_key", "transfer_key", "payload",
] as const;

/** A row of `callback_event`, keyed by column. */
export type EventRow = Record<(typeof EVENT_COLUMNS)[number], string | number | null>;

/**
 * A time-ordered UUID (version 7, RFC 9562): the event log's primary key index then grows at its end instead of
 * at random pages, so a commit writes fewer pages. The random bits are those of a random (version 4) UUID, which
 * Node draws from a buffered pool: its version digit becomes 7 and the time takes its first 48 bits.
 */
export function timeOrderedId(now: number): string {
  const random = randomUUID();
  const time = now.toString(16).padStart(12, "0");
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15)}`;
}

/** A callback made ready to store: its keys, and its row but for the sequence number (given in the transaction). */
export interface PreparedEvent {
  accountId: string;
  signedKey: string;
  transferKey: string;
  row: Omit<EventRow, "sequence">;
}

/** Everything about storing a callback that needs no database; `dateValue` is the dialect's form of a date. */
export function prepareEvent(input: EventInput, dateValue: (date: Date) => string | number): PreparedEvent {
  const { accountId, callback } = input;
  const { signedKey, transferKey } = idempotencyKeys(input);
  return {
    accountId,
    signedKey,
    transferKey,
    row: {
      id: timeOrderedId(input.receivedAt.getTime()),
      account_id: accountId,
      wallet_id: input.walletId,
      kind: callback.kind,
      operation_id: callback.operationId,
      tracking_id: callback.trackingId,
      transfer_id: callback.transferId,
      transfer_status: callback.transferStatus,
      amount: callback.amount,
      commission: callback.commission,
      fee: callback.fee,
      currency: callback.currency,
      txid: callback.txid,
      signed_at: callback.signedFields.time,
      received_at: dateValue(input.receivedAt),
      signed_key: signedKey,
      transfer_key: transferKey,
      payload: input.payload,
    },
  };
}

/** The stored events' keys, as a storing transaction reads them. */
export type StoredKeys = { signed_key: string; transfer_key: string }[];

/**
 * What to do with a batch, once it is known which of its keys are stored: each event's answer, and the rows to
 * insert. A duplicate (same signed fields, or same transfer and status, stored before or earlier in the batch) is
 * answered as such and takes no sequence number; the others are numbered 1, 2, … per account, in batch order, to
 * be added to the account's counter.
 */
export interface BatchPlan {
  results: WriteResult[];
  rows: EventRow[];
  /** Rows to insert per account (accounts with none are left out). */
  added: Map<string, number>;
}

export function planBatch(events: readonly PreparedEvent[], stored: StoredKeys): BatchPlan {
  const signedKeys = new Set(stored.map((row) => row.signed_key));
  const transferKeys = new Set(stored.map((row) => row.transfer_key));
  const added = new Map<string, number>();
  const rows: EventRow[] = [];
  const results = events.map(({ accountId, signedKey, transferKey, row }): WriteResult => {
    if (signedKeys.has(signedKey) || transferKeys.has(transferKey)) {
      return { stored: false, sameTransfer: transferKeys.has(transferKey) };
    }
    signedKeys.add(signedKey);
    transferKeys.add(transferKey);
    const sequence = (added.get(accountId) ?? 0) + 1;
    added.set(accountId, sequence);
    rows.push({ ...row, sequence });
    return { stored: true, accountId, sequence };
  });
  return { results, rows, added };
}

/** The plan's answers and rows with each account's numbers moved past `base` (the counter's value before). */
export function numberFrom(plan: BatchPlan, base: ReadonlyMap<string, number>): Pick<BatchPlan, "results" | "rows"> {
  const at = (accountId: string, offset: number) => base.get(accountId)! + offset;
  return {
    results: plan.results.map((result) => (result.stored ? { ...result, sequence: at(result.accountId, result.sequence) } : result)),
    rows: plan.rows.map((row) => ({ ...row, sequence: at(row.account_id as string, row.sequence as number) })),
  };
}
