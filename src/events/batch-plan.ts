import { hash, randomUUID } from "node:crypto";
import { rowOf, type EventRow, type NewEvent, type WriteResult } from "./event.js";

/** SHA-256 (hex) over the parts, each followed by a NUL byte. */
function sha256(...parts: string[]): string {
  let text = "";
  for (const part of parts) text += `${part}\u0000`;
  return hash("sha256", text, "hex");
}

/** How many of a signed message's last characters lead its key (see `idempotencyKeys`). */
const SIGNED_KEY_LEAD = 10;

/**
 * Idempotency keys, each a SHA-256 within the account:
 * - `signedKey` over the signed message, the exact text the signature covered. Two bodies with the same message are
 *   one callback whatever their other fields say: the message has no separators, so moving characters between its
 *   fields, or changing what it does not cover (wallet, kind, ids), gives the same key.
 * - `resendKey` over what the platform says of the operation: kind, operation id, transfer id (or none), transfer
 *   status and the deposit's or payout's status. A resend (the same state, signed again with a new `meta.time`)
 *   has it; a payout moving on (Waiting to Approved, its transfer unchanged) does not.
 * Each key is led by something that grows as the platform goes on (the message's end, which is `meta.time`; the
 * operation id), so that a batch's new keys land on the same few pages at the end of their unique indexes instead
 * of each on a random page. The lead is a function of what is hashed, so it never separates two equal keys.
 */
export function idempotencyKeys(
  event: Pick<NewEvent, "accountId" | "signedMessage" | "kind" | "operationId" | "transferId" | "transferStatusCode" | "operationStatusCode">,
): { signedKey: string; resendKey: string } {
  const { accountId, signedMessage } = event;
  const code = (value: number | null) => (value === null ? "" : String(value));
  return {
    signedKey: `${signedMessage.slice(-SIGNED_KEY_LEAD)}:${sha256(accountId, signedMessage)}`,
    resendKey: `${event.operationId}:${sha256(
      accountId,
      event.kind,
      event.operationId,
      event.transferId ?? "",
      code(event.transferStatusCode),
      code(event.operationStatusCode),
    )}`,
  };
}

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

/** An event made ready to store: its keys, and its row but for the sequence number (given in the transaction). */
export interface PreparedEvent {
  accountId: string;
  signedKey: string;
  resendKey: string;
  row: Omit<EventRow, "sequence">;
}

/** Everything about storing an event that needs no database; `dateValue` is the dialect's form of a date. */
export function prepareEvent(event: NewEvent, dateValue: (date: Date) => string | number): PreparedEvent {
  const { signedKey, resendKey } = idempotencyKeys(event);
  return {
    accountId: event.accountId,
    signedKey,
    resendKey,
    row: rowOf(event, { id: timeOrderedId(event.receivedAt.getTime()), signedKey, resendKey, receivedAt: dateValue(event.receivedAt) }),
  };
}

/** The stored events' keys, as a storing transaction reads them. */
export type StoredKeys = { signed_key: string; resend_key: string }[];

/**
 * What to do with a batch, once it is known which of its keys are stored: each event's answer, and the rows to
 * insert. A duplicate (the same signed message, or a resend of the same state, stored before or earlier in the batch) is
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
  const resendKeys = new Set(stored.map((row) => row.resend_key));
  const added = new Map<string, number>();
  const rows: EventRow[] = [];
  const results = events.map(({ accountId, signedKey, resendKey, row }): WriteResult => {
    if (signedKeys.has(signedKey)) return { stored: false, resend: false };
    if (resendKeys.has(resendKey)) return { stored: false, resend: true };
    signedKeys.add(signedKey);
    resendKeys.add(resendKey);
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
