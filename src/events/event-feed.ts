import pg from "pg";
import { sayGoodbye } from "../db/postgres-goodbye.js";
import type { Logger } from "../logger.js";
import type { EventLog, EventsRead, LogHead } from "./event-log.js";

/** PostgreSQL channel that says "account A has events up to sequence N". */
export const EVENTS_CHANNEL = "callback_events";
/** How the listening connection names itself to the database (`pg_stat_activity.application_name`). */
export const LISTENER_APPLICATION_NAME = "access-subgraph event feed";
/**
 * How often the listening connection is asked for an answer. A connection that only listens hears nothing from a
 * database that stopped answering, nor from one that forgot it (a failover); asked, it answers or is replaced.
 */
export const LISTENER_CHECK_MS = 5000;
/** The wait before listening again after the connection failed. */
const RELISTEN_MS = 1000;

/** The options of {@link EventFeed}. */
export interface EventFeedOptions {
  /** PostgreSQL to listen on; unset, this process is the only writer and nothing is listened to. */
  databaseUrl?: string;
  /** How often the heads of the accounts someone waits on are read, in case a notification was lost. */
  pollMs: number;
  /** How long the listening connection may leave a statement unanswered before it is replaced. @default 10000 */
  timeoutMs?: number;
  /** How long opening the listening connection may take. @default 5000 */
  connectTimeoutMs?: number;
}

/** The connection notifications arrive on, and how to give it up (once) for another. */
interface Listener {
  client: pg.Client;
  retire(error: unknown, message: string): void;
}

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
  private listener: Listener | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private checkTimer: NodeJS.Timeout | null = null;
  /**
   * A poll or a check in flight: ticks meanwhile are skipped, so that unanswered ones never pile up (each poll holds
   * one of the pool's connections while it waits).
   */
  private polling = false;
  private checking = false;
  private closed = false;

  constructor(
    private readonly log: Pick<EventLog, "after" | "head" | "heads" | "epochs" | "forkPoints">,
    private readonly logger: Pick<Logger, "warn">,
    private readonly options: EventFeedOptions,
  ) {}

  /** The channel the store notifies in its transaction, or null when this process is the only reader. */
  get notifyChannel(): string | null {
    return this.options.databaseUrl ? EVENTS_CHANNEL : null;
  }

  async start(): Promise<void> {
    if (this.options.databaseUrl) {
      await this.listen();
      this.checkTimer = setInterval(() => void this.checkListener(), LISTENER_CHECK_MS);
      this.checkTimer.unref();
    }
    this.pollTimer = setInterval(() => void this.poll(), this.options.pollMs);
    this.pollTimer.unref();
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5000,
      query_timeout: this.options.timeoutMs ?? 10_000,
      keepAlive: true,
      application_name: LISTENER_APPLICATION_NAME,
    });
    let retired = false;
    const retire = (error: unknown, message: string) => {
      if (retired) return;
      retired = true;
      if (this.listener?.client === client) this.listener = null;
      this.logger.warn({ err: error }, message);
      // With a statement in flight the client destroys its socket rather than wait for a goodbye that may not come.
      client.end().catch(() => {});
      if (!this.closed) setTimeout(() => void (this.closed ? undefined : this.listen()), RELISTEN_MS).unref();
    };
    client.on("notification", (message) => {
      const [accountId, sequence] = (message.payload ?? "").split(":");
      if (accountId && sequence) this.advance(accountId, Number(sequence));
    });
    client.on("error", (error) => retire(error, "event notifications lost their connection; reconnecting"));
    try {
      await client.connect();
      await client.query(`listen ${EVENTS_CHANNEL}`);
    } catch (error) {
      retire(error, "could not listen for event notifications; polling until it works");
      return;
    }
    if (this.closed) await client.end().catch(() => {});
    else if (!retired) this.listener = { client, retire };
  }

  /** Asks the listening connection for an answer; one that gives none in time is replaced. */
  private async checkListener(): Promise<void> {
    const listener = this.listener;
    if (!listener || this.checking) return;
    this.checking = true;
    try {
      await listener.client.query("select 1");
    } catch (error) {
      listener.retire(error, "event notifications' connection does not answer; reconnecting");
    } finally {
      this.checking = false;
    }
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
  head(accountId: string): Promise<LogHead> {
    return this.log.head(accountId);
  }

  /** The database's epochs (see `EventLog.epochs`). */
  epochs(): ReturnType<EventLog["epochs"]> {
    return this.log.epochs();
  }

  /** An account's fork points (see `EventLog.forkPoints`). */
  forkPoints(accountId: string): ReturnType<EventLog["forkPoints"]> {
    return this.log.forkPoints(accountId);
  }

  /** Reads the committed heads of the accounts someone waits on: one query for all of them. */
  private async poll(): Promise<void> {
    const accounts = [...this.waiters.keys()];
    if (accounts.length === 0 || this.polling) return;
    this.polling = true;
    try {
      for (const [accountId, sequence] of await this.log.heads(accounts)) this.advance(accountId, sequence);
    } catch (error) {
      this.logger.warn({ err: error }, "could not poll event heads");
    } finally {
      this.polling = false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.checkTimer) clearInterval(this.checkTimer);
    for (const set of this.waiters.values()) for (const waiter of set) waiter.resolve();
    this.waiters.clear();
    const client = this.listener?.client;
    this.listener = null;
    if (!client) return;
    await sayGoodbye(client);
  }
}
