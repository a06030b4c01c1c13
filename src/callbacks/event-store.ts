import type { EntityManager, FilterQuery } from "@mikro-orm/core";
import type { SqlEntityManager } from "@mikro-orm/knex";
import { CallbackEvent, type CallbackEventKind, type TransferStatus } from "./callback-event.entity.js";

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

/**
 * An event as its readers use it: an entity from a query, or a row read on the live path. Its wallet is known by
 * id only.
 */
export interface StoredEvent {
  id: string;
  sequence: number;
  wallet: { id: string };
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
  signedAt: string;
  receivedAt: Date;
}

interface EventRow {
  id: string;
  sequence: number | string;
  wallet_id: string;
  kind: CallbackEventKind;
  operation_id: string;
  tracking_id: string;
  transfer_id: string;
  transfer_status: number | string;
  amount: string;
  commission: string | null;
  fee: string | null;
  currency: string | null;
  txid: string | null;
  signed_at: string;
  received_at: number | Date;
}

const EVENTS_AFTER =
  "select id, sequence, wallet_id, kind, operation_id, tracking_id, transfer_id, transfer_status, amount, commission, " +
  "fee, currency, txid, signed_at, received_at from callback_event " +
  "where account_id = ? and sequence > ? order by sequence asc limit ?";

/**
 * `readEvents` with no filter, on the live path (every subscriber's next events): one fixed statement, its rows
 * read as they are, with no query to build and no entity to hydrate.
 */
export async function readEventsAfter(em: EntityManager, accountId: string, afterSequence: number, limit: number): Promise<StoredEvent[]> {
  const rows = await (em as SqlEntityManager).execute<EventRow[]>(EVENTS_AFTER, [accountId, afterSequence, limit]);
  return rows.map((row) => ({
    id: row.id,
    sequence: Number(row.sequence),
    wallet: { id: row.wallet_id },
    kind: row.kind,
    operationId: row.operation_id,
    trackingId: row.tracking_id,
    transferId: row.transfer_id,
    transferStatus: Number(row.transfer_status) as TransferStatus,
    amount: row.amount,
    commission: row.commission,
    fee: row.fee,
    currency: row.currency,
    txid: row.txid,
    signedAt: row.signed_at,
    // Milliseconds on the embedded database, a date on PostgreSQL.
    receivedAt: new Date(row.received_at),
  }));
}

/** The highest sequence number committed for an account (0 when it has no event yet). */
export async function headSequence(em: EntityManager, accountId: string): Promise<number> {
  const [row] = await (em as SqlEntityManager).execute<{ value: number }[]>(
    "select value from event_sequence where account_id = ?",
    [accountId],
  );
  return row ? Number(row.value) : 0;
}
