import { createClient, type Client, type FormattedExecutionResult } from "graphql-ws";
import { print, type DocumentNode } from "graphql";
import WebSocket from "ws";

/** A graphql-ws client that queues everything it receives, so a test never misses a message. */
export interface QueuedSubscription<T> {
  /** The next result, or a rejection after `timeoutMs`. */
  next(timeoutMs?: number): Promise<FormattedExecutionResult<T, unknown>>;
  /** Resolves with the error or completion that ended the subscription. */
  ended: Promise<unknown>;
  /** How many results arrived and were not taken with `next` yet. */
  queued(): number;
  dispose(): void;
}

/** A graphql-ws client that connects at once and never retries; `connected` resolves once acknowledged. */
export function wsClient(
  url: string,
  connectionParams?: Record<string, unknown>,
  options: { headers?: Record<string, string> } = {},
): Client & { closed: Promise<{ code: number; reason: string }>; connected: Promise<void> } {
  let resolveClosed: (event: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (resolveClosed = resolve));
  let resolveConnected: () => void;
  const connected = new Promise<void>((resolve) => (resolveConnected = resolve));
  class HeaderWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers: options.headers });
    }
  }
  const client = createClient({
    url: url.replace(/^http/, "ws") + "/graphql",
    webSocketImpl: HeaderWebSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: false,
    on: { closed: (event) => resolveClosed(event as { code: number; reason: string }), connected: () => resolveConnected() },
    onNonLazyError: () => {},
  });
  return Object.assign(client, { closed, connected });
}

/**
 * A graphql-ws client with the library's default options (lazy, five retries on a closed socket), as dashboards
 * and routers run it: what the subscription contract must hold against. `closes` records every close it saw.
 */
export function defaultClient(url: string, connectionParams?: Record<string, unknown>): Client & { closes: number[] } {
  const closes: number[] = [];
  const client = createClient({
    url: url.replace(/^http/, "ws") + "/graphql",
    webSocketImpl: WebSocket,
    connectionParams,
    on: { closed: (event) => void closes.push((event as { code: number }).code) },
  });
  return Object.assign(client, { closes });
}

export function subscribe<T>(
  client: Client,
  document: DocumentNode | string,
  variables?: Record<string, unknown>,
): QueuedSubscription<T> {
  const queue: FormattedExecutionResult<T, unknown>[] = [];
  const waiters: ((result: FormattedExecutionResult<T, unknown>) => void)[] = [];
  let resolveEnded: (value: unknown) => void;
  const ended = new Promise((resolve) => (resolveEnded = resolve));
  const dispose = client.subscribe<T>(
    { query: typeof document === "string" ? document : print(document), variables },
    {
      next: (result) => {
        const waiter = waiters.shift();
        if (waiter) waiter(result);
        else queue.push(result);
      },
      error: (error) => resolveEnded(error),
      complete: () => resolveEnded("complete"),
    },
  );
  return {
    ended,
    dispose,
    queued: () => queue.length,
    next(timeoutMs = 5000) {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no message within ${timeoutMs} ms`)), timeoutMs);
        waiters.push((result) => {
          clearTimeout(timer);
          resolve(result);
        });
      });
    },
  };
}

/**
 * How a subscription the server ended, ended: the errors (message and code) of its last result, which must be
 * followed by `complete` (the contract of docs/subscriptions.md). Results still queued before it are dropped.
 * Fails when it has not ended within `deadlineMs`.
 */
export async function endingErrors(
  subscription: QueuedSubscription<unknown>,
  deadlineMs = 15_000,
): Promise<{ message: string; code?: string }[]> {
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    subscription.ended,
    new Promise((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`the subscription did not end within ${deadlineMs} ms`)), deadlineMs);
    }),
  ]).finally(() => clearTimeout(timer));
  if (ended !== "complete") throw new Error(`the subscription ended with ${JSON.stringify(ended)}, not with a result and complete`);
  let last: FormattedExecutionResult<unknown, unknown> | undefined;
  while (subscription.queued() > 0) last = await subscription.next();
  if (!last?.errors) throw new Error(`the last result carries no error: ${JSON.stringify(last)}`);
  return last.errors.map((error) => ({ message: error.message, code: error.extensions?.code as string | undefined }));
}
