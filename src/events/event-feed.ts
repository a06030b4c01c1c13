import pg from "pg";
import type { Logger } from "../logger.js";
import type { EventLog, EventsRead } from "./event-log.js";

/** PostgreSQL channel that says "account A has events up to sequence N". */
export const EVENTS_CHANNEL = "callback_events";

interface Waiter {
  after: number;
  resolve: () => void;
}

/**
 * Tells subscribers that there is more. The event log stays the source of truth: a notification carries only
 * an account and a sequence number, and subscribers read the events themselves, from their own cursor.
 *
 * Notifications come from this process (after a commit here) and, on PostgreSQL, from every instance through
 * LISTEN/NOTIFY on the database the service already uses (no extra engine to run; NOTIFY is sent in the storing
 * transaction, so it arrives exactly when the event is visible). A poll of the committed heads every `pollMs`
 * covers a notification lost while the listening connection was down.
 */
export class EventFeed {
  private readonly heads = new Map<string, number>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly reads = new Map<string, Promise<EventsRead>>();
  private listener: pg.Client | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly log: Pick<EventLog, "after" | "head" | "heads">,
    private readonly logger: Pick<Logger, "warn">,
    private readonly options: { databaseUrl?: string; pollMs: number },
  ) {}

  /** The channel the store notifies in its transaction, or null when this process is the only reader. */
  get notifyChannel(): string | null {
    return this.options.databaseUrl ? EVENTS_CHANNEL : null;
  }

  async start(): Promise<void> {
    if (this.options.databaseUrl) await this.listen();
    this.pollTimer = setInterval(() => void this.poll(), this.options.pollMs);
    this.pollTimer.unref();
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.databaseUrl });
    client.on("notification", (message) => {
      const [accountId, sequence] = (message.payload ?? "").split(":");
      if (accountId && sequence) this.advance(accountId, Number(sequence));
    });
    client.on("error", (error) => {
      this.logger.warn({ err: error }, "event notifications lost their connection; reconnecting");
      this.reconnect(client);
    });
    try {
      await client.connect();
      await client.query(`listen ${EVENTS_CHANNEL}`);
      this.listener = client;
    } catch (error) {
      this.logger.warn({ err: error }, "could not listen for event notifications; polling until it works");
      this.reconnect(client);
    }
  }

  private reconnect(client: pg.Client): void {
    if (this.listener === client) this.listener = null;
    client.end().catch(() => {});
    if (this.closed) return;
    setTimeout(() => void (this.closed ? undefined : this.listen()), 1000).unref();
  }

  /** Records that an account has events up to `sequence`, and wakes the subscribers behind it. */
  advance(accountId: string, sequence: number): void {
    if (sequence > (this.heads.get(accountId) ?? 0)) this.heads.set(accountId, sequence);
    const waiting = this.waiters.get(accountId);
    if (!waiting) return;
    for (const waiter of waiting) {
      if (waiter.after < sequence) {
        waiting.delete(waiter);
        waiter.resolve();
      }
    }
    if (waiting.size === 0) this.waiters.delete(accountId);
  }

  /**
   * `news` resolves once the account has an event after `after`; `cancel` resolves it at once and forgets the
   * waiter (a subscription that ends).
   */
  waitForNews(accountId: string, after: number): { news: Promise<void>; cancel(): void } {
    if ((this.heads.get(accountId) ?? 0) > after) return { news: Promise.resolve(), cancel: () => {} };
    let waiter!: Waiter;
    const news = new Promise<void>((resolve) => (waiter = { after, resolve }));
    let set = this.waiters.get(accountId);
    if (!set) this.waiters.set(accountId, (set = new Set()));
    set.add(waiter);
    return {
      news,
      cancel: () => {
        const waiting = this.waiters.get(accountId);
        if (waiting?.delete(waiter) && waiting.size === 0) this.waiters.delete(accountId);
        waiter.resolve();
      },
    };
  }

  /**
   * An account's events after a sequence number, with its access version. Concurrent reads of the same account and
   * cursor share one query, so a thousand subscribers at the head cost one read per event, not a thousand.
   */
  read(accountId: string, after: number, limit: number): Promise<EventsRead> {
    const key = `${accountId}:${after}:${limit}`;
    let pending = this.reads.get(key);
    if (!pending) {
      pending = this.log.after(accountId, after, limit).finally(() => this.reads.delete(key));
      this.reads.set(key, pending);
    }
    return pending;
  }

  /** Where a subscription starts (see `EventLog.head`). */
  head(accountId: string): Promise<{ sequence: number; accessVersion: number }> {
    return this.log.head(accountId);
  }

  /** Reads the committed heads of the accounts someone waits on: one query for all of them. */
  private async poll(): Promise<void> {
    const accounts = [...this.waiters.keys()];
    if (accounts.length === 0) return;
    try {
      for (const [accountId, sequence] of await this.log.heads(accounts)) this.advance(accountId, sequence);
    } catch (error) {
      this.logger.warn({ err: error }, "could not poll event heads");
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    for (const set of this.waiters.values()) for (const waiter of set) waiter.resolve();
    this.waiters.clear();
    await this.listener?.end().catch(() => {});
    this.listener = null;
  }
}
