import { UniqueConstraintViolationException, type EntityManager, type FilterQuery } from "@mikro-orm/core";
import type { SqlEntityManager } from "@mikro-orm/knex";
import { createHash, randomUUID } from "node:crypto";
import { CallbackEvent, type CallbackEventKind, type TransferStatus } from "./callback-event.entity.js";
import type { ParsedCallback } from "./callback-payload.js";

function sha256(...parts: string[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part).update("\u0000");
  return hash.digest("hex");
}

export type StoreResult =
  | { stored: true; event: CallbackEvent }
  /** Already stored: a replay or a resend. `sameTransfer` is false when only the signed fields matched. */
  | { stored: false; sameTransfer: boolean };

/**
 * Stores a verified callback once, durably, and gives it the account's next sequence number.
 *
 * The sequence comes from a per-account counter row updated in the same transaction. Its row lock makes
 * concurrent writers of one account commit in sequence order, so an event with a higher sequence is never visible
 * before one with a lower sequence: a reader that has seen sequence N never misses a later-committed N-1. That is
 * what lets subscribers resume from a cursor with no gap.
 *
 * A duplicate (same signed fields, or same transfer and status) rolls the transaction back and stores nothing.
 * On PostgreSQL the notification to other instances is sent in the same transaction, so it goes out exactly when
 * the event becomes visible.
 */
export async function storeCallbackEvent(
  em: EntityManager,
  input: { accountId: string; walletId: string; callback: ParsedCallback; payload: string; receivedAt: Date },
  notifyChannel: string | null,
): Promise<StoreResult> {
  const { accountId, walletId, callback } = input;
  const signedKey = sha256(
    accountId,
    callback.signedFields.status,
    callback.signedFields.amount,
    callback.signedFields.trackingId,
    callback.signedFields.time,
  );
  const transferKey = sha256(accountId, callback.kind, callback.transferId, String(callback.transferStatus));
  try {
    const event = await (em as SqlEntityManager).transactional(async (tx) => {
      const [counter] = await tx.execute<{ value: number }[]>(
        "insert into event_sequence (account_id, value) values (?, 1) " +
          "on conflict (account_id) do update set value = event_sequence.value + 1 returning value",
        [accountId],
      );
      const event = tx.create(CallbackEvent, {
        id: randomUUID(),
        account: accountId,
        sequence: Number(counter!.value),
        wallet: walletId,
        kind: callback.kind,
        operationId: callback.operationId,
        trackingId: callback.trackingId,
        transferId: callback.transferId,
        transferStatus: callback.transferStatus,
        amount: callback.amount,
        commission: callback.commission,
        fee: callback.fee,
        currency: callback.currency,
        txid: callback.txid,
        signedAt: callback.signedFields.time,
        receivedAt: input.receivedAt,
        signedKey,
        transferKey,
        payload: input.payload,
      });
      await tx.flush();
      if (notifyChannel) await tx.execute("select pg_notify(?, ?)", [notifyChannel, `${accountId}:${event.sequence}`]);
      return event;
    });
    return { stored: true, event };
  } catch (error) {
    if (!(error instanceof UniqueConstraintViolationException)) throw error;
    const existing = await em.fork().findOne(CallbackEvent, { transferKey });
    return { stored: false, sameTransfer: existing !== null };
  }
}

/** Which events a reader wants, besides the account. */
export interface EventFilter {
  walletIds?: readonly string[] | null;
  kinds?: readonly CallbackEventKind[] | null;
  statuses?: readonly TransferStatus[] | null;
}

/** An account's events after a sequence number, in sequence order. */
export function readEvents(
  em: EntityManager,
  accountId: string,
  afterSequence: number,
  limit: number,
  where: FilterQuery<CallbackEvent> = {},
): Promise<CallbackEvent[]> {
  return em.find(
    CallbackEvent,
    { $and: [{ account: accountId, sequence: { $gt: afterSequence } }, where] },
    { orderBy: { sequence: "asc" }, limit },
  );
}

/** The highest sequence number committed for an account (0 when it has no event yet). */
export async function headSequence(em: EntityManager, accountId: string): Promise<number> {
  const [row] = await (em as SqlEntityManager).execute<{ value: number }[]>(
    "select value from event_sequence where account_id = ?",
    [accountId],
  );
  return row ? Number(row.value) : 0;
}
