import type { EntityManager } from "@mikro-orm/core";
import { SpanKind, trace, type Span } from "@opentelemetry/api";
import type { Viewer } from "../access/viewer.js";
import { accessChanged, cursorExpired, DomainError, slowConsumer } from "../domain-error.js";
import type { StoredEvent } from "../events/event.js";
import type { EventFeed } from "../events/event-feed.js";
import type { EventFilter } from "../events/event-log.js";
import { visibleWalletIds } from "../access/wallet-visibility.js";
import { contextOf, failSpan, type TraceScope } from "../tracing/tracing.js";
import type { EventPosition } from "../events/epoch.js";
import { eventCursor, eventMatches, resumeAfter } from "./callback-event.service.js";

/** Events read from the log per step; also the most a subscription holds in memory. */
const BATCH = 100;

type Visible = Set<string> | "all";

export interface EventSubscriptionOptions {
  feed: EventFeed;
  em: () => EntityManager;
  viewer: Viewer;
  /**
   * The subscriber as its token and the database say now (its token verified again, its user and API access read
   * again); throws a DomainError when it may no longer subscribe. Called when its account's access changed.
   */
  reauthenticate: (em: EntityManager) => Promise<Viewer>;
  filter: EventFilter;
  /**
   * The position to resume after (a cursor's); null: only events that come after the subscription starts. A
   * position the current history does not hold ends the subscription with CURSOR_RESTORED.
   */
  after: EventPosition | null;
  /** How long the consumer may take to accept one event before it counts as slow. */
  sendTimeoutMs: number;
  /** Called once with the error that ended the subscription, when it ended before its consumer stopped it. */
  onEnded?: (error: DomainError) => void;
  /** The subscription's span, which each delivery links to; null or absent when tracing is off. */
  trace?: TraceScope | null;
}

/**
 * The span of one event's delivery to one subscriber: the child of the ingress span that stored the event (its
 * stored `traceparent`, whichever instance stored it; a trace of its own for an event stored untraced), linked to
 * the subscription's span. It lasts until the consumer takes the next event, that is once this one was executed
 * and sent.
 */
function deliverySpan(scope: TraceScope, event: StoredEvent): Span {
  const subscription = trace.getSpanContext(scope.context);
  return scope.tracer.startSpan(
    "callback deliver",
    {
      kind: SpanKind.CONSUMER,
      links: subscription ? [{ context: subscription }] : [],
      attributes: {
        "callback.event_id": event.id,
        "callback.sequence": event.sequence,
        "callback.wallet_id": event.wallet.id,
        "callback.operation_id": event.operationId,
      },
    },
    contextOf(event.traceContext ? { traceparent: event.traceContext } : null),
  );
}

/** True when `now` lacks a wallet that `before` had. */
function lostAny(before: Visible, now: Visible): boolean {
  if (now === "all") return false;
  return before === "all" || [...before].some((id) => !now.has(id));
}

/**
 * A subscription to an account's callback events: first every stored event after the cursor, then each new one,
 * read from the log in sequence order. Replay and live delivery are the same loop over the log, so there is no
 * gap and no duplicate between them, however fast events arrive. The next event is read only when the consumer
 * took the previous one: memory stays bounded by one batch, and a consumer that takes longer than
 * `sendTimeoutMs` for one event ends with SLOW_CONSUMER (it resumes later from its last cursor).
 *
 * Every read of the log also reads the account's access version. When it moved since the subscription last looked,
 * the subscription checks its access again before it passes on any event of that read: a subscription that lost a
 * wallet it could see ends with FORBIDDEN, so no event stored after a revocation committed reaches it.
 */
export class EventSubscription implements AsyncIterableIterator<StoredEvent> {
  private readonly buffer: StoredEvent[] = [];
  private waiting: ReturnType<EventFeed["waitForNews"]> | null = null;
  /** The sequence number last read (set at the start). */
  private cursor: number | null = null;
  /** The epoch the current history's cursors name (set at the start). */
  private epoch: string | null = null;
  private viewer: Viewer;
  private visible: Visible | null = null;
  /** The access version `visible` was computed at (or after). */
  private accessVersion = 0;
  private watchdog: NodeJS.Timeout | null = null;
  private finished = false;
  /** Why the subscription was ended from outside, thrown once by `next`. */
  private failure: DomainError | null = null;
  private readonly endListeners: (() => void)[] = [];
  /** The cursor is the head read at the start: no read is needed before the next news. */
  private atHead = false;
  /** The span of the event last handed to the consumer, until it takes the next (tracing on only). */
  private delivery: Span | null = null;
  private settle!: () => void;
  /** Resolves once the consumer was handed the last result: the end, or the error it was ended with. */
  readonly settled = new Promise<void>((resolve) => (this.settle = resolve));

  constructor(private readonly options: EventSubscriptionOptions) {
    this.viewer = options.viewer;
  }

  async next(): Promise<IteratorResult<StoredEvent>> {
    this.disarm();
    this.delivered();
    const { feed, filter } = this.options;
    const accountId = this.viewer.accountId;
    if (this.visible === null && !this.finished) await this.start();
    while (!this.finished) {
      const event = this.buffer.shift();
      if (event) {
        this.arm();
        if (this.options.trace) this.delivery = deliverySpan(this.options.trace, event);
        return { value: event, done: false };
      }
      // Started at the head, there is nothing to read until the feed says there is more.
      const read = this.atHead ? null : await feed.read(accountId, this.cursor!, BATCH);
      this.atHead = false;
      if (read?.accessVersion != null && read.accessVersion !== this.accessVersion) await this.checkAccess(read.accessVersion);
      // Retention pruned events after the cursor (a subscriber that fell that far behind): never a silent gap.
      if (read?.prunedThrough != null && read.prunedThrough > this.cursor!) this.end(cursorExpired(eventCursor({ epoch: this.epoch, sequence: read.prunedThrough })));
      if (this.finished) break;
      for (const row of read?.events ?? []) {
        this.cursor = row.sequence;
        if (eventMatches(row, this.visible!, filter)) this.buffer.push(row);
      }
      if (!read || read.events.length === 0) {
        this.waiting = feed.waitForNews(accountId, this.cursor!);
        await this.waiting.news;
        this.waiting = null;
      }
    }
    this.settle();
    if (this.failure) {
      const failure = this.failure;
      this.failure = null;
      throw failure;
    }
    return { value: undefined, done: true };
  }

  /** Ends the subscription from outside: the pending or next call of `next` throws `error`, and nothing comes after. */
  end(error: DomainError): void {
    if (this.finished) return;
    this.failure = error;
    this.options.onEnded?.(error);
    this.finish();
  }

  /**
   * Checks the subscription against the viewer's access now (the guard calls it when the account's access version
   * moved): it ends with FORBIDDEN when a wallet it could see is no longer visible.
   */
  async recheck(viewer: Viewer): Promise<void> {
    if (this.finished || this.visible === null) return;
    const visible = await visibleWalletIds(this.options.em(), viewer);
    if (lostAny(this.visible, visible)) this.end(accessChanged());
  }

  /** Calls `listener` once the subscription has ended, however it ended. */
  onEnd(listener: () => void): void {
    if (this.finished) listener();
    else this.endListeners.push(listener);
  }

  /**
   * What the subscription may see, and where it starts. The access version is read before the visible wallets, so
   * a change in between shows as a moved version at the next read. Its entity manager is not kept while it waits.
   */
  private async start(): Promise<void> {
    const { feed, after } = this.options;
    const head = await feed.head(this.viewer.accountId);
    this.accessVersion = head.accessVersion;
    this.epoch = (await feed.epochs()).cursorEpoch;
    if (after !== null) {
      try {
        this.cursor = await resumeAfter(feed, this.viewer.accountId, after, head);
      } catch (error) {
        if (error instanceof DomainError) return this.end(error);
        throw error;
      }
      if (this.cursor < head.prunedThrough) return this.end(cursorExpired(eventCursor({ epoch: this.epoch, sequence: head.prunedThrough })));
    }
    const visible = await visibleWalletIds(this.options.em(), this.viewer);
    if (this.cursor === null) {
      this.cursor = head.sequence;
      this.atHead = true;
    }
    this.visible = visible;
  }

  /** Authenticates the subscriber again and recomputes what it may see; ends the subscription when it lost any. */
  private async checkAccess(version: number): Promise<void> {
    const em = this.options.em();
    let visible: Visible;
    try {
      this.viewer = await this.options.reauthenticate(em);
      visible = await visibleWalletIds(em, this.viewer);
    } catch (error) {
      if (error instanceof DomainError) return this.end(error);
      throw error;
    }
    if (lostAny(this.visible!, visible)) return this.end(accessChanged());
    this.visible = visible;
    this.accessVersion = version;
  }

  /** The consumer stops taking results: nothing more is handed over. */
  async return(): Promise<IteratorResult<StoredEvent>> {
    this.settle();
    this.finish();
    return { value: undefined, done: true };
  }

  /** Stops reading and waiting; a pending `next` returns (or throws the error the subscription was ended with). */
  private finish(): void {
    this.finished = true;
    this.waiting?.cancel();
    this.disarm();
    this.delivered();
    this.buffer.length = 0;
    for (const listener of this.endListeners.splice(0)) listener();
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
      const error = slowConsumer();
      // The consumer did not take the event it was handed: that delivery failed.
      if (this.delivery) failSpan(this.delivery, error, error.code);
      this.end(error);
    }, this.options.sendTimeoutMs);
    this.watchdog.unref();
  }

  /** Ends the span of the event last handed to the consumer. */
  private delivered(): void {
    this.delivery?.end();
    this.delivery = null;
  }

  private disarm(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
  }
}
