import type { EntityManager } from "@mikro-orm/core";
import type { SqlEntityManager } from "@mikro-orm/knex";
import type { Clock } from "../clock.js";
import type { Logger } from "../logger.js";

/** Events pruned per transaction: small, so that the ingress never waits behind a prune for long. */
const BATCH = 500;
/** How often an instance prunes (every instance does; their batches are idempotent). */
export const RETENTION_INTERVAL_MS = 60_000;
/** How long keys outlive the staleness window: a late redelivery inside it is still recognised. */
const KEYS_BEYOND_WINDOW_MS = 7 * 24 * 3600_000;
const DAY_MS = 24 * 3600_000;

export interface RetentionOptions {
  em: () => EntityManager;
  clock: Clock;
  logger: Pick<Logger, "info" | "warn">;
  /** `EVENT_RETENTION_DAYS`: events received longer ago are pruned; 0 keeps every event. */
  days: number;
  /**
   * The ingress's staleness window (`CALLBACK_MAX_AGE_SECONDS`, in ms; 0: off). A pruned event's idempotency keys
   * are kept for it and 7 days more, for good when it is off, so that a redelivery the ingress would still take is
   * recognised as one.
   */
  staleAfterMs: number;
  /** `date` as the dialect stores it (SQLite: milliseconds; PostgreSQL: a date). */
  dateValue: (ms: number) => number | Date;
}

/**
 * Prunes the event log: events received more than `days` ago go, oldest first, per account, in small transactions
 * that each keep the pruned events' idempotency keys (`retained_key`) and raise the account's `pruned_through`, so
 * that a cursor below it is answered with CURSOR_EXPIRED instead of a silent gap; then drops the retained keys
 * whose time is up. Sequence numbers follow commit order, which follows arrival: the old events of an account are
 * the first of its sequence.
 */
export class EventRetention {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(private readonly options: RetentionOptions) {}

  get enabled(): boolean {
    return this.options.days > 0;
  }

  start(intervalMs = RETENTION_INTERVAL_MS): void {
    if (!this.enabled || this.timer) return;
    this.timer = setInterval(() => {
      this.pruneOnce().catch((error: unknown) => this.options.logger.warn({ err: error }, "could not prune the event log"));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }

  /** Prunes what is due now; answers how many events went. One run at a time per instance. */
  pruneOnce(): Promise<number> {
    this.running ??= this.prune().finally(() => (this.running = null));
    return this.running;
  }

  private async prune(): Promise<number> {
    if (!this.enabled) return 0;
    const { clock, days, staleAfterMs, dateValue } = this.options;
    const now = clock.now();
    const cutoff = now - days * DAY_MS;
    const keysUntil = staleAfterMs > 0 ? dateValue(now + staleAfterMs + KEYS_BEYOND_WINDOW_MS) : null;
    const accounts = await this.execute<{ account_id: string }>("select account_id from event_sequence", []);
    let pruned = 0;
    for (const { account_id: accountId } of accounts) {
      for (;;) {
        const batch = await this.execute<{ sequence: number | string; signed_key: string | null; resend_key: string | null; received_at: unknown }>(
          "select sequence, signed_key, resend_key, received_at from callback_event where account_id = ? order by sequence limit ?",
          [accountId, BATCH],
        );
        const old = batch.slice(0, firstNewer(batch, cutoff));
        if (old.length === 0) break;
        const through = Number(old.at(-1)!.sequence);
        const keys = old.flatMap((row) => [row.signed_key, row.resend_key].filter((key): key is string => key !== null));
        await this.options.em().transactional(async (tx) => {
          const sql = tx as SqlEntityManager;
          for (let start = 0; start < keys.length; start += BATCH) {
            const chunk = keys.slice(start, start + BATCH);
            await sql.execute(
              `insert into retained_key (key, expires_at) values ${chunk.map(() => "(?, ?)").join(", ")} on conflict (key) do nothing`,
              chunk.flatMap((key) => [key, keysUntil]),
            );
          }
          await sql.execute("delete from callback_event where account_id = ? and sequence <= ?", [accountId, through]);
          await sql.execute("update event_sequence set pruned_through = ? where account_id = ? and pruned_through < ?", [through, accountId, through]);
        });
        pruned += old.length;
        if (old.length < batch.length || batch.length < BATCH) break;
        // Let the ingress's work in between.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    await this.execute("delete from retained_key where expires_at is not null and expires_at < ?", [dateValue(now)]);
    if (pruned > 0) this.options.logger.info({ pruned, olderThanDays: days }, "pruned the event log");
    return pruned;
  }

  private execute<T>(sql: string, params: unknown[]): Promise<T[]> {
    return (this.options.em() as SqlEntityManager).execute<T[]>(sql, params);
  }
}

/** The index of the first row received at or after `cutoff` (the rows' length when all are older). */
function firstNewer(rows: { received_at: unknown }[], cutoff: number): number {
  const index = rows.findIndex((row) => new Date(row.received_at as number | Date).getTime() >= cutoff);
  return index === -1 ? rows.length : index;
}
