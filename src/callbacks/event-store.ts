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

/** The highest sequence number committed for an account (0 when it has no event yet). */
export async function headSequence(em: EntityManager, accountId: string): Promise<number> {
  const [row] = await (em as SqlEntityManager).execute<{ value: number }[]>(
    "select value from event_sequence where account_id = ?",
    [accountId],
  );
  return row ? Number(row.value) : 0;
}
