import type { ApolloClient } from "@apollo/client";
import { print } from "graphql";
import { createClient, type Client } from "graphql-ws";
import { apiErrors, fromGraphQLErrors, type ApiError } from "../api-errors";
import {
  EventFeedDocument,
  EventHistoryDocument,
  EventLogStartDocument,
  type CallbackEventFilter,
  type EventRowFragment,
} from "../generated/graphql";

/** Where the feed stands, for the page to show. */
export type FeedState =
  | { kind: "reading-history" }
  | { kind: "connecting" }
  | { kind: "live" }
  | { kind: "waiting"; reason: string; retryAt: number }
  | { kind: "stopped"; errors: ApiError[] };

export interface FeedOptions {
  /** Reads the history over HTTP. */
  client: ApolloClient;
  /** The router's graphql-ws endpoint. */
  wsUrl: string;
  token: string;
  filter: CallbackEventFilter;
  /**
   * Events in the order the API sent them: what was stored before the feed started (`history`, oldest first),
   * then what arrived since (`arrival`: live, replayed after a reconnect, or read with the first one).
   */
  onEvents(events: EventRowFragment[], origin: "history" | "arrival"): void;
  /** What was shown is no longer the log's (it was restored from a backup): the events come again from the start. */
  onReset(): void;
  onState(state: FeedState): void;
  /** The token expired or was refused, here in the API's words: nothing more can be read with it. */
  onUnauthenticated(message: string): void;
  /** The viewer's access changed: what they may see is to be read again. */
  onAccessChanged(): void;
}

/** How often a ping checks that the socket still carries messages, and how long its pong may take. */
const KEEP_ALIVE_MS = 10_000;
const PONG_TIMEOUT_MS = 5_000;
/** The waits between attempts to subscribe again after the socket dropped: doubling, at most 15 s. */
const FIRST_RETRY_MS = 500;
const LONGEST_RETRY_MS = 15_000;

/** Codes after which subscribing again cannot help without a person doing something. */
const FINAL_CODES = new Set(["ACCOUNT_SUSPENDED", "LIMIT_EXCEEDED", "BAD_USER_INPUT", "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"]);

/**
 * Follows the callback events the viewer may see, as docs/frontend.md describes: reads the history from the start
 * of the log (`earliestCursor`) to its end, subscribes after its last cursor (the start itself while there is no
 * event), and keeps the cursor of every event received. Whenever the subscription ends
 * or the socket drops (the router restarted, the laptop slept, a ping went unanswered), it subscribes again after
 * that cursor, so the events it missed are replayed once and none is delivered twice. The socket's own retries
 * are off: they would subscribe again with the first cursor, and replay what was already shown. Returns `stop`,
 * and `retryNow`, which ends a wait before the next attempt.
 */
export function followEvents(options: FeedOptions): { stop(): void; retryNow(): void } {
  let cursor: string | null = null;
  let stopped = false;
  let failures = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let pongTimer: ReturnType<typeof setTimeout> | undefined;
  /** Ends the current subscription quietly: what it still reports is ignored. */
  let endSubscription: (() => void) | undefined;
  let pendingRetry: (() => void) | undefined;
  /** Until the first subscription is sent, what is read is the history the feed started with. */
  let started = false;
  /** Whether the socket is open and acknowledged: a subscription sent on it is live at once. */
  let socketOpen = false;

  const socket: Client = createClient({
    url: options.wsUrl,
    // A browser cannot set headers on a WebSocket: the token goes in connectionParams.
    connectionParams: { Authorization: `Bearer ${options.token}` },
    lazy: true,
    retryAttempts: 0,
    keepAlive: KEEP_ALIVE_MS,
    on: {
      connected: () => {
        socketOpen = true;
        failures = 0;
        if (!stopped) options.onState({ kind: "live" });
      },
      ping: (received) => {
        if (received) return;
        clearTimeout(pongTimer);
        pongTimer = setTimeout(() => socket.terminate(), PONG_TIMEOUT_MS);
      },
      pong: (received) => {
        if (received) clearTimeout(pongTimer);
      },
      closed: () => {
        socketOpen = false;
        clearTimeout(pongTimer);
      },
    },
  });

  /** Tries again after a wait that grows with each failure in a row, or at once when the page asks. */
  function retryLater(reason: string, waitMs?: number): void {
    if (stopped) return;
    const wait = waitMs ?? Math.min(FIRST_RETRY_MS * 2 ** failures, LONGEST_RETRY_MS);
    failures += 1;
    options.onState({ kind: "waiting", reason, retryAt: Date.now() + wait });
    const again = () => {
      clearTimeout(retryTimer);
      pendingRetry = undefined;
      if (!stopped) void resume();
    };
    pendingRetry = again;
    retryTimer = setTimeout(again, wait);
  }

  function stopWith(errors: ApiError[]): void {
    options.onState({ kind: "stopped", errors });
    halt();
  }

  function halt(): void {
    stopped = true;
    clearTimeout(retryTimer);
    clearTimeout(pongTimer);
    endSubscription?.();
    void socket.dispose();
  }

  /** What to do with the coded last result of a subscription, or a refused history read (docs/frontend.md). */
  function ended(errors: ApiError[]): void {
    const first = errors[0];
    switch (first?.code) {
      case "UNAUTHENTICATED":
        halt();
        return options.onUnauthenticated(first.message);
      case "FORBIDDEN":
        options.onAccessChanged();
        return retryLater(first.message, 0);
      case "RATE_LIMITED": {
        const seconds = Number(first.extensions.retryAfterSeconds);
        return retryLater(first.message, Number.isFinite(seconds) ? seconds * 1000 : undefined);
      }
      case "CURSOR_EXPIRED":
        // The events after the cursor were pruned: read on from the earliest one kept.
        cursor = typeof first.extensions.earliestCursor === "string" ? first.extensions.earliestCursor : null;
        return retryLater(first.message, 0);
      case "CURSOR_RESTORED":
        // The log was restored from a backup: events shown after its resume point may be gone, others numbered
        // anew. The table is read again from the start, so it shows what the log holds.
        cursor = null;
        started = false;
        options.onReset();
        return retryLater(first.message, 0);
      default:
        if (first?.code && FINAL_CODES.has(first.code)) return stopWith(errors);
        return retryLater(first?.message ?? "The subscription ended");
    }
  }

  /** Reads what is stored after the cursor, page by page, to the end; false when the read failed. */
  async function readHistory(): Promise<boolean> {
    options.onState({ kind: "reading-history" });
    for (;;) {
      let page;
      try {
        page = (
          await options.client.query({
            query: EventHistoryDocument,
            variables: { filter: options.filter, after: cursor },
            fetchPolicy: "no-cache",
          })
        ).data?.callbackEvents;
      } catch (error) {
        if (!stopped) ended(apiErrors(error));
        return false;
      }
      if (stopped || !page) return false;
      const events = page.edges.map((edge) => edge.node);
      if (events.length > 0) options.onEvents(events, started ? "arrival" : "history");
      cursor = page.pageInfo.endCursor ?? cursor;
      if (!page.pageInfo.hasNextPage) return true;
    }
  }

  function subscribe(): void {
    started = true;
    options.onState({ kind: socketOpen ? "live" : "connecting" });
    let finished = false;
    const release = socket.subscribe(
      { query: print(EventFeedDocument), variables: { filter: options.filter, after: cursor } },
      {
        next(result) {
          if (stopped || finished) return;
          if (result.errors?.length) {
            finished = true;
            return ended(fromGraphQLErrors(result.errors));
          }
          const event = result.data?.callbackEvents as EventRowFragment | undefined;
          if (!event) return;
          cursor = event.cursor;
          options.onEvents([event], "arrival");
        },
        error(error) {
          if (stopped || finished) return;
          finished = true;
          retryLater(describeDrop(error));
        },
        complete() {
          if (stopped || finished) return;
          finished = true;
          retryLater("The subscription ended");
        },
      },
    );
    endSubscription = () => {
      finished = true;
      release();
    };
  }

  /** The cursor before the oldest event kept, where reading the whole history starts; false when the read failed. */
  async function readStart(): Promise<boolean> {
    options.onState({ kind: "reading-history" });
    try {
      const start = (await options.client.query({ query: EventLogStartDocument, fetchPolicy: "no-cache" })).data?.callbackEventRetention;
      if (stopped || !start?.earliestCursor) return false;
      cursor = start.earliestCursor;
      return true;
    } catch (error) {
      if (!stopped) ended(apiErrors(error));
      return false;
    }
  }

  async function resume(): Promise<void> {
    // Without a cursor (at the start, or after the log was restored) the history is read from the start of the log.
    // With one, the subscription's own replay after it brings what was missed.
    if (cursor === null && !((await readStart()) && (await readHistory()))) return;
    if (stopped) return;
    subscribe();
  }

  void resume();

  return {
    stop: halt,
    retryNow() {
      pendingRetry?.();
    },
  };
}

/** Why the socket or subscription failed, as the browser saw it. */
function describeDrop(error: unknown): string {
  if (Array.isArray(error)) return fromGraphQLErrors(error).map((entry) => entry.message).join("; ");
  if (error && typeof error === "object" && "code" in error && typeof error.code === "number") {
    const reason = "reason" in error && typeof error.reason === "string" && error.reason ? `: ${error.reason}` : "";
    return `The connection to the router closed (${error.code}${reason})`;
  }
  return "The router could not be reached";
}
