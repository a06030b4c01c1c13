import type { EntityManager } from "@mikro-orm/core";
import type { Viewer } from "../access/viewer.js";
import { eventMatches, visibleWalletIds } from "./callback-event.service.js";
import type { EventFeed } from "./event-feed.js";
import { headSequence, type EventFilter, type StoredEvent } from "./event-store.js";

/** Events read from the log per step; also the most a subscription holds in memory. */
const BATCH = 100;

export interface EventSubscriptionOptions {
  feed: EventFeed;
  em: () => EntityManager;
  viewer: Viewer;
  filter: EventFilter;
  /** Sequence to resume after; null: only events that come after the subscription starts. */
  after: number | null;
  /** How long the consumer may take to accept one event before it counts as slow. */
  sendTimeoutMs: number;
  /** Called once when the consumer is slow; the transport closes the connection. */
  onSlowConsumer: () => void;
}

/**
 * A subscription to an account's callback events: first every stored event after the cursor, then each new one,
 * read from the log in sequence order. Replay and live delivery are the same loop over the log, so there is no
 * gap and no duplicate between them, however fast events arrive. The next event is read only when the consumer
 * took the previous one: memory stays bounded by one batch, and a consumer that takes longer than
 * `sendTimeoutMs` for one event is reported as slow (it resumes later from its last cursor).
 */
export class EventSubscription implements AsyncIterableIterator<StoredEvent> {
  private readonly buffer: StoredEvent[] = [];
  private waiting: ReturnType<EventFeed["waitForNews"]> | null = null;
  private cursor: number | null;
  private visible: Set<string> | "all" | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private finished = false;
  /** Why the subscription was ended from outside, thrown once by `next`. */
  private failure: Error | null = null;
  private readonly endListeners: (() => void)[] = [];
  /** The cursor is the head read at the start: no read is needed before the next news. */
  private atHead = false;

  constructor(private readonly options: EventSubscriptionOptions) {
    this.cursor = options.after;
  }

  async next(): Promise<IteratorResult<StoredEvent>> {
    this.disarm();
    const { feed, viewer, filter } = this.options;
    const visible = this.visible ?? (await this.start());
    while (!this.finished) {
      const event = this.buffer.shift();
      if (event) {
        this.arm();
        return { value: event, done: false };
      }
      // Started at the head, there is nothing to read until the feed says there is more.
      const rows = this.atHead ? [] : await feed.read(viewer.accountId, this.cursor!, BATCH);
      this.atHead = false;
      for (const row of rows) {
        this.cursor = row.sequence;
        if (eventMatches(row, visible, filter)) this.buffer.push(row);
      }
      if (rows.length === 0) {
        this.waiting = feed.waitForNews(viewer.accountId, this.cursor!);
        await this.waiting.news;
        this.waiting = null;
      }
    }
    if (this.failure) {
      const failure = this.failure;
      this.failure = null;
      throw failure;
    }
    return { value: undefined, done: true };
  }

  /** Ends the subscription from outside: the pending or next call of `next` throws `error`, and then it is done. */
  fail(error: Error): void {
    if (this.finished) return;
    this.failure = error;
    void this.return();
  }

  /** Calls `listener` once the subscription has ended, however it ended. */
  onEnd(listener: () => void): void {
    if (this.finished) listener();
    else this.endListeners.push(listener);
  }

  /** What the subscription may see, and where it starts. Its entity manager is not kept while it waits. */
  private async start(): Promise<Set<string> | "all"> {
    const em = this.options.em();
    const visible = await visibleWalletIds(em, this.options.viewer);
    if (this.cursor === null) {
      this.cursor = await headSequence(em, this.options.viewer.accountId);
      this.atHead = true;
    }
    this.visible = visible;
    return visible;
  }

  async return(): Promise<IteratorResult<StoredEvent>> {
    this.finished = true;
    this.waiting?.cancel();
    this.disarm();
    this.buffer.length = 0;
    for (const listener of this.endListeners.splice(0)) listener();
    return { value: undefined, done: true };
  }

  async throw(error: unknown): Promise<IteratorResult<StoredEvent>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private arm(): void {
    this.watchdog = setTimeout(() => {
      if (!this.finished) this.options.onSlowConsumer();
    }, this.options.sendTimeoutMs);
    this.watchdog.unref();
  }

  private disarm(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
  }
}
