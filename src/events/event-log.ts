import {
  CallbackEventKind,
  DEPOSIT_STATUSES,
  PAYOUT_STATUSES,
  READ_COLUMNS,
  TRANSFER_STATUSES,
  storedOf,
  type DepositStatus,
  type NewEvent,
  type PayoutStatus,
  type ReadRow,
  type StatusCodes,
  type StoredEvent,
  type TransferStatus,
  type WriteResult,
} from "./event.js";
import type { RunStatement, Statement } from "../db/statement.js";
import { EpochLineage, type Epoch } from "./epoch.js";

/**
 * Which events a reader wants, besides the account. Absent lists match everything, empty ones nothing; an event
 * matches every list given. A status list never matches an event without that status (no transfer, or a status
 * not sent); `depositStatuses` matches deposits only, `payoutStatuses` payouts only.
 */
export interface EventFilter {
  walletIds?: readonly string[] | null;
  kinds?: readonly CallbackEventKind[] | null;
  /** The transfer's status. */
  statuses?: readonly TransferStatus[] | null;
  depositStatuses?: readonly DepositStatus[] | null;
  payoutStatuses?: readonly PayoutStatus[] | null;
}

/** What one read gives: the events, and the account's access version as of the same moment. */
export interface EventsRead {
  events: StoredEvent[];
  /**
   * The account's access version in the snapshot the events come from, so any change of access committed before
   * the newest of these events is counted in it (see `access/access-version.ts`); null when there are no events.
   */
  accessVersion: number | null;
  /**
   * The highest sequence number retention pruned, as of the same snapshot (null when there are no events): a
   * cursor below it skipped pruned events.
   */
  prunedThrough: number | null;
}

/** Where an account's log stands: its head, its access version, and how far retention pruned it. */
export interface LogHead {
  /** The highest committed sequence number (0 without events). */
  sequence: number;
  accessVersion: number;
  /** The highest sequence number pruned (0: none). */
  prunedThrough: number;
}

/**
 * The event log: verified callbacks, each stored once and numbered per account in commit order. `SqlEventLog`
 * implements it on both databases, with one `EventWriter` per database; `group-commit.ts` queues in front of
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
  /** Where a subscription starts, and how far back the log reaches. */
  head(accountId: string): Promise<LogHead>;
  /** The highest committed sequence number of each account that has events, in one statement. */
  heads(accountIds: readonly string[]): Promise<Map<string, number>>;
  /**
   * The database's epochs (see `epoch.ts`), read once: a new epoch is minted only while no instance runs
   * (`restore`, `events mark-restored`).
   */
  epochs(): Promise<EpochLineage>;
  /** Where each epoch forked off its parent for one account, by epoch id (see `EpochFork`). */
  forkPoints(accountId: string): Promise<Map<string, number>>;
  close(): Promise<void>;
}

/**
 * The half of the log that differs per database: `append` (see `EventLog.append`) on a connection of the writer's
 * own (`sqlite-event-writer.ts`, `postgres-event-writer.ts`). The service runs its writer on a thread of its own
 * (`writer-thread.ts`).
 */
export type EventWriter = Pick<EventLog, "append" | "close">;

const placeholders = (count: number) => Array.from({ length: count }, () => "?").join(", ");

/**
 * The condition a list of status names puts on a column of codes: the codes they name, or (for UNKNOWN) any code
 * the platform does not document; null when it can match nothing.
 */
function statusCondition(
  column: string,
  names: readonly (string | number)[],
  statuses: StatusCodes<string | number>,
): { sql: string; params: number[] } | null {
  const { codes, unknown } = statuses.codesOf(names);
  const parts: string[] = [];
  if (codes.length > 0) parts.push(`${column} in (${placeholders(codes.length)})`);
  if (unknown) parts.push(`${column} not in (${placeholders(statuses.known.length)})`);
  if (parts.length === 0) return null;
  return { sql: `(${parts.join(" or ")})`, params: [...codes, ...(unknown ? statuses.known : [])] };
}

/**
 * An account's events after a sequence number, with the access version and the pruned sequence of the same snapshot.
 * The sequence number is a parameter of its own type: a cursor past any stored sequence reads nothing, never an error.
 */
const EVENTS_AFTER =
  "select (select access_version from account where id = ?) as access_version, " +
  `(select pruned_through from event_sequence where account_id = ?) as pruned_through, ${READ_COLUMNS.join(", ")} ` +
  "from callback_event where account_id = ? and sequence > cast(? as bigint)";
const IN_ORDER = " order by sequence asc limit ?";
/** The read every unfiltered subscriber's next events take, prepared; a filtered read is a text of its own. */
const UNFILTERED_AFTER: Statement = { name: "event_log_after", text: EVENTS_AFTER + IN_ORDER };
const HEAD: Statement = {
  name: "event_log_head",
  text: "select a.access_version, s.value, s.pruned_through from account a left join event_sequence s on s.account_id = a.id where a.id = ?",
};
const EPOCHS: Statement = { name: "event_log_epochs", text: "select id, parent_id from event_epoch order by ordinal" };
const FORK_POINTS: Statement = { name: "event_log_fork_points", text: "select epoch_id, sequence from event_epoch_fork where account_id = ?" };

/**
 * The event log on either database: appends through the database's writer; reads with statements the same on both
 * databases, run by `Database.execute` and their rows read as they are (no entity to hydrate: they serve every
 * subscriber's next events; no entity manager to fork for them either).
 */
export class SqlEventLog implements EventLog {
  private lineage: Promise<EpochLineage> | null = null;

  constructor(
    private readonly execute: RunStatement,
    private readonly writer: EventWriter,
  ) {}

  append(events: readonly NewEvent[]): Promise<WriteResult[]> {
    return this.writer.append(events);
  }

  close(): Promise<void> {
    return this.writer.close();
  }

  async after(accountId: string, sequence: number, limit: number, filter: EventFilter = {}): Promise<EventsRead> {
    const { cursorEpoch } = await this.epochs();
    let conditions = "";
    const params: unknown[] = [accountId, accountId, accountId, sequence];
    for (const [column, values] of [
      ["wallet_id", filter.walletIds],
      ["kind", filter.kinds],
    ] as const) {
      if (!values) continue;
      if (values.length === 0) return { events: [], accessVersion: null, prunedThrough: null };
      conditions += ` and ${column} in (${placeholders(values.length)})`;
      params.push(...values);
    }
    const statusLists = [
      ["transfer_status", filter.statuses, TRANSFER_STATUSES, null],
      ["operation_status", filter.depositStatuses, DEPOSIT_STATUSES, CallbackEventKind.DEPOSIT],
      ["operation_status", filter.payoutStatuses, PAYOUT_STATUSES, CallbackEventKind.PAYOUT],
    ] as const;
    for (const [column, names, statuses, kind] of statusLists) {
      if (!names) continue;
      const condition = statusCondition(column, names, statuses as StatusCodes<string | number>);
      if (!condition) return { events: [], accessVersion: null, prunedThrough: null };
      conditions += ` and ${kind ? "kind = ? and " : ""}${condition.sql}`;
      params.push(...(kind ? [kind] : []), ...condition.params);
    }
    params.push(limit);
    const rows = await this.execute<ReadRow & { access_version: number | string; pruned_through: number | string | null }>(
      conditions === "" ? UNFILTERED_AFTER : EVENTS_AFTER + conditions + IN_ORDER,
      params,
    );
    const first = rows[0];
    return {
      events: rows.map((row) => storedOf(row, cursorEpoch)),
      accessVersion: first ? Number(first.access_version) : null,
      prunedThrough: first ? Number(first.pruned_through ?? 0) : null,
    };
  }

  async head(accountId: string): Promise<LogHead> {
    const [row] = await this.execute<{ access_version: number | string; value: number | string | null; pruned_through: number | string | null }>(HEAD, [
      accountId,
    ]);
    return {
      sequence: Number(row?.value ?? 0),
      accessVersion: Number(row?.access_version ?? 0),
      prunedThrough: Number(row?.pruned_through ?? 0),
    };
  }

  async heads(accountIds: readonly string[]): Promise<Map<string, number>> {
    if (accountIds.length === 0) return new Map();
    const rows = await this.execute<{ account_id: string; value: number | string }>(
      `select account_id, value from event_sequence where account_id in (${placeholders(accountIds.length)})`,
      [...accountIds],
    );
    return new Map(rows.map((row) => [row.account_id, Number(row.value)]));
  }

  epochs(): Promise<EpochLineage> {
    this.lineage ??= this.execute<{ id: string; parent_id: string | null }>(EPOCHS, []).then(
      (rows) => new EpochLineage(rows.map((row): Epoch => ({ id: row.id, parentId: row.parent_id }))),
      (error: unknown) => {
        this.lineage = null;
        throw error;
      },
    );
    return this.lineage;
  }

  async forkPoints(accountId: string): Promise<Map<string, number>> {
    const rows = await this.execute<{ epoch_id: string; sequence: number | string }>(FORK_POINTS, [accountId]);
    return new Map(rows.map((row) => [row.epoch_id, Number(row.sequence)]));
  }
}
