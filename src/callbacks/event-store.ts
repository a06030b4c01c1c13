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
  "select (select access_version from account where id = ?) as access_version, id, sequence, wallet_id, kind, " +
  "operation_id, tracking_id, transfer_id, transfer_status, amount, commission, fee, currency, txid, signed_at, " +
  "received_at from callback_event where account_id = ? and sequence > ? order by sequence asc limit ?";

/** What one read of the live path gives: the events, and the account's access version as of the same moment. */
export interface EventsRead {
  events: StoredEvent[];
  /**
   * The account's access version in the snapshot the events come from, so any change of access committed before
   * the newest of these events is counted in it (see `access/access-version.ts`); null when there are no events.
   */
  accessVersion: number | null;
}

/**
 * An account's events after a sequence number, on the live path (every subscriber's next events): one fixed
 * statement, its rows read as they are, with no query to build and no entity to hydrate. The same statement reads
 * the account's access version, so a subscriber learns of a revocation no later than of the first event stored
 * after it.
 */
export async function readEventsAfter(em: EntityManager, accountId: string, afterSequence: number, limit: number): Promise<EventsRead> {
  const rows = await (em as SqlEntityManager).execute<(EventRow & { access_version: number | string })[]>(EVENTS_AFTER, [
    accountId,
    accountId,
    afterSequence,
    limit,
  ]);
  const events: StoredEvent[] = [];
  for (const row of rows) {
    events.push({
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
    });
  }
  return { events, accessVersion: rows.length === 0 ? null : Number(rows[0]!.access_version) };
}

/**
 * Where a subscription starts: the highest sequence number committed for an account (0 when it has no event yet)
 * and its access version, read in one statement.
 */
export async function startingPoint(em: EntityManager, accountId: string): Promise<{ head: number; accessVersion: number }> {
  const [row] = await (em as SqlEntityManager).execute<{ access_version: number | string; value: number | string | null }[]>(
    "select a.access_version, s.value from account a left join event_sequence s on s.account_id = a.id where a.id = ?",
    [accountId],
  );
  return { head: Number(row?.value ?? 0), accessVersion: Number(row?.access_version ?? 0) };
}
