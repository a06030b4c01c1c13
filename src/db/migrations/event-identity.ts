import { idempotencyKeys } from "../../events/batch-plan.js";
import { CallbackEventKind } from "../../events/event.js";

/** Runs one statement in the migration's transaction and answers its rows. */
export type Execute = (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;

/** The new columns of one stored event, computed from what it stored. */
interface Rekeyed {
  id: string;
  signedKey: string;
  resendKey: string;
  operationStatus: number | null;
  amountCleared: string | null;
}

const PAGE = 500;
const INTEGER_TEXT = /^-?\d{1,10}$/;

type Json = Record<string, unknown>;
const object = (value: unknown): Json | undefined =>
  value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined;

/** What the events stored before carry only in their payload: the deposit's or payout's status, and `amount_cleared`. */
function fromPayload(payload: string, transferId: string): { operationStatus: number | null; amountCleared: string | null } {
  let body: Json | undefined;
  try {
    body = object(JSON.parse(payload));
  } catch {
    return { operationStatus: null, amountCleared: null };
  }
  const status = object(object(body?.data)?.attributes)?.status;
  const text = typeof status === "number" && Number.isSafeInteger(status) ? String(status) : status;
  const included = Array.isArray(body?.included) ? body.included : [];
  const transfer = included.map(object).find((item) => item?.type === "transfer" && String(item.id) === transferId);
  const cleared = object(transfer?.attributes)?.amount_cleared;
  return {
    operationStatus: typeof text === "string" && INTEGER_TEXT.test(text) ? Number(text) : null,
    amountCleared: typeof cleared === "string" && /^-?\d{1,40}(\.\d{1,40})?$/.test(cleared) ? cleared : null,
  };
}

/**
 * Gives the events stored before the signed message identified a callback the keys the ingress now computes
 * (`idempotencyKeys`), so that a redelivery or a resend of one of them is still recognised: each of them had a
 * transfer, and signed `transfer.status + amount + tracking_id + meta.time`. `write` stores a page of them.
 * Then, where events of an account share a signed message (copies of one callback with fields moved across the
 * message's boundaries, which the keys of before took for different callbacks), the earliest keeps the keys and
 * the others are flagged with its id in `replay_of`, keyless.
 */
export async function rekeyStoredEvents(execute: Execute, write: (page: Rekeyed[]) => Promise<void>): Promise<void> {
  for (let after = ""; ; ) {
    const rows = await execute(
      "select id, account_id, kind, operation_id, transfer_id, transfer_status, amount, tracking_id, signed_at, payload " +
        "from callback_event where id > ? order by id limit ?",
      [after, PAGE],
    );
    if (rows.length === 0) break;
    await write(
      rows.map((row) => {
        const transferId = String(row.transfer_id);
        const stored = fromPayload(String(row.payload), transferId);
        const transferStatusCode = Number(row.transfer_status);
        const keys = idempotencyKeys({
          accountId: String(row.account_id),
          kind: row.kind as CallbackEventKind,
          operationId: String(row.operation_id),
          transferId,
          transferStatusCode,
          operationStatusCode: stored.operationStatus,
          signedMessage: `${transferStatusCode}${String(row.amount)}${String(row.tracking_id)}${String(row.signed_at)}`,
        });
        return { id: String(row.id), ...keys, ...stored };
      }),
    );
    after = String(rows.at(-1)!.id);
  }
  await execute(
    "update callback_event set replay_of = (select e.id from callback_event e where e.account_id = callback_event.account_id " +
      "and e.signed_key = callback_event.signed_key order by e.sequence limit 1) " +
      "where exists (select 1 from callback_event e where e.account_id = callback_event.account_id " +
      "and e.signed_key = callback_event.signed_key and e.sequence < callback_event.sequence)",
  );
  await execute("update callback_event set signed_key = null, resend_key = null where replay_of is not null");
}
