import type { EntityManager } from "@mikro-orm/core";
import type { SqlEntityManager } from "@mikro-orm/knex";
import { READ_COLUMNS, storedOf, type CallbackEventKind, type NewEvent, type ReadRow, type StoredEvent, type TransferStatus, type WriteResult } from "./event.js";

/** Which events a reader wants, besides the account. Absent lists match everything, empty ones nothing. */
export interface EventFilter {
  walletIds?: readonly string[] | null;
  kinds?: readonly CallbackEventKind[] | null;
  statuses?: readonly TransferStatus[] | null;
}

/** What one read gives: the events, and the account's access version as of the same moment. */
export interface EventsRead {
  events: StoredEvent[];
  /**
   * The account's access version in the snapshot the events come from, so any change of access committed before
   * the newest of these events is counted in it (see `access/access-version.ts`); null when there are no events.
   */
  accessVersion: number | null;
}

/**
 * The event log: verified callbacks, each stored once and numbered per account in commit order. One adapter per
 * database implements it (`sqlite-event-log.ts`, `postgres-event-log.ts`); `group-commit.ts` queues in front of
 * `append`, and `event-feed.ts` tells readers that there is more.
 */
export interface EventLog {
  /**
   * Stores a batch in one transaction, all or nothing, and answers each event: stored with its sequence number, or
   * a duplicate of one stored before or earlier in the batch (which takes no number). Throws when nothing was stored.
   */
  append(events: readonly NewEvent[]): Promise<WriteResult[]>;
  /** An account's events after a sequence number, oldest first, with the access version of the same snapshot. */
  after(accountId: string, sequence: number, limit: number, filter?: EventFilter): Promise<EventsRead>;
  /** Where a subscription starts: the account's highest committed sequence number (0 without events) and its access version. */
  head(accountId: string): Promise<{ sequence: number; accessVersion: number }>;
  /** The highest committed sequence number of each account that has events, in one statement. */
  heads(accountIds: readonly string[]): Promise<Map<string, number>>;
  close(): Promise<void>;
}

const placeholders = (count: number) => Array.from({ length: count }, () => "?").join(", ");

/**
 * The reads of the event log, the same on both databases: fixed statements over the service's connection, their
 * rows read as they are (no entity to hydrate: they serve every subscriber's next events). The adapters add `append`.
 */
export abstract class SqlEventLog implements EventLog {
  constructor(private readonly em: () => EntityManager) {}

  abstract append(events: readonly NewEvent[]): Promise<WriteResult[]>;
  abstract close(): Promise<void>;

  async after(accountId: string, sequence: number, limit: number, filter: EventFilter = {}): Promise<EventsRead> {
    let sql =
      `select (select access_version from account where id = ?) as access_version, ${READ_COLUMNS.join(", ")} ` +
      "from callback_event where account_id = ? and sequence > ?";
    const params: unknown[] = [accountId, accountId, sequence];
    for (const [column, values] of [
      ["wallet_id", filter.walletIds],
      ["kind", filter.kinds],
      ["transfer_status", filter.statuses],
    ] as const) {
      if (!values) continue;
      if (values.length === 0) return { events: [], accessVersion: null };
      sql += ` and ${column} in (${placeholders(values.length)})`;
      params.push(...values);
    }
    sql += " order by sequence asc limit ?";
    params.push(limit);
    const rows = await this.execute<ReadRow & { access_version: number | string }>(sql, params);
    return { events: rows.map(storedOf), accessVersion: rows.length === 0 ? null : Number(rows[0]!.access_version) };
  }

  async head(accountId: string): Promise<{ sequence: number; accessVersion: number }> {
    const [row] = await this.execute<{ access_version: number | string; value: number | string | null }>(
      "select a.access_version, s.value from account a left join event_sequence s on s.account_id = a.id where a.id = ?",
      [accountId],
    );
    return { sequence: Number(row?.value ?? 0), accessVersion: Number(row?.access_version ?? 0) };
  }

  async heads(accountIds: readonly string[]): Promise<Map<string, number>> {
    if (accountIds.length === 0) return new Map();
    const rows = await this.execute<{ account_id: string; value: number | string }>(
      `select account_id, value from event_sequence where account_id in (${placeholders(accountIds.length)})`,
      [...accountIds],
    );
    return new Map(rows.map((row) => [row.account_id, Number(row.value)]));
  }

  private execute<T>(sql: string, params: unknown[]): Promise<T[]> {
    return (this.em() as SqlEntityManager).execute<T[]>(sql, params);
  }
}
