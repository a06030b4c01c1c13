import { parentPort, workerData } from "node:worker_threads";
import { prepareEvent, type EventInput } from "./event-batch.js";
import { MAX_BATCH } from "./event-writer.js";
import { PostgresEventBatchStore } from "./postgres-event-batch-store.js";
import { failureOf, SqliteEventLog, type StoreFailure, type StoreOutcome } from "./sqlite-event-log.js";

/** The database the writer thread stores events in. */
export type WriterTarget = { dialect: "sqlite"; filename: string } | { dialect: "postgresql"; databaseUrl: string; channel: string };

/** A batch to store, from `WriterThreadStore`; or the request to close the connection and end the thread. */
export type WriterRequest = { id: number; events: EventInput[] } | { close: true };

/**
 * What the thread tells the service's thread: the answer to a batch (its results, or why nothing of it was
 * stored; and the statements run), or a log line (the service's logger writes it).
 */
export type WriterMessage =
  | ({ id: number } & StoreOutcome)
  | { log: { level: "warn"; message: string; error: StoreFailure } };

type BatchRequest = Extract<WriterRequest, { id: number }>;

/** One transaction (SQLite) or one statement (PostgreSQL) for all of `events`; never throws. */
type StoreEvents = (events: EventInput[]) => StoreOutcome | Promise<StoreOutcome>;

function openLog(target: WriterTarget): { store: StoreEvents; close(): Promise<void> | void } {
  if (target.dialect === "sqlite") {
    const log = new SqliteEventLog(target.filename);
    return {
      store(events) {
        try {
          return log.store(events.map((input) => prepareEvent(input, (date) => date.getTime())));
        } catch (error) {
          return { statements: [], error: failureOf(error) };
        }
      },
      close: () => log.close(),
    };
  }
  let statements: string[] = [];
  const logger = {
    warn(fields: { err?: unknown }, message: string) {
      parentPort!.postMessage({ log: { level: "warn", message, error: failureOf(fields.err) } } satisfies WriterMessage);
    },
  };
  const store = new PostgresEventBatchStore(target.databaseUrl, target.channel, (sql) => statements.push(sql), logger);
  return {
    async store(events) {
      statements = [];
      try {
        return { statements, results: await store.store(events) };
      } catch (error) {
        return { statements, error: failureOf(error) };
      }
    },
    close: () => store.close(),
  };
}

/**
 * The event log's writer: its own connection in its own thread, so that the service's thread keeps reading
 * callbacks while a batch commits, and spends nothing on preparing the events (keys, ids, rows) or on the
 * database's protocol. One transaction at a time, holding every batch that reached this thread while the last one
 * ran (up to `MAX_BATCH` events): the next transaction never waits for the service's thread to answer the last
 * one's callers.
 */
const log = openLog(workerData as WriterTarget);

/** Batches that arrived while a transaction ran: the next transaction stores them. */
const queued: BatchRequest[] = [];
let running: Promise<void> | null = null;

parentPort!.on("message", (request: WriterRequest) => {
  if ("close" in request) {
    void (async () => {
      while (running) await running;
      await log.close();
      parentPort!.close();
    })();
    return;
  }
  queued.push(request);
  schedule();
});

function schedule(): void {
  if (running || queued.length === 0) return;
  // After the messages already delivered to this thread, so that they share the transaction.
  running = new Promise((resolve) => setImmediate(() => flush().then(resolve)));
}

async function flush(): Promise<void> {
  // Whole batches, at least one, until the transaction holds MAX_BATCH events; the rest go into the next.
  let count = 0;
  let taken = 0;
  while (taken < queued.length && (taken === 0 || count + queued[taken]!.events.length <= MAX_BATCH)) {
    count += queued[taken]!.events.length;
    taken += 1;
  }
  const requests = queued.splice(0, taken);
  answer(requests, await log.store(requests.flatMap((request) => request.events)));
  running = null;
  schedule();
}

/** Answers each batch with its own results (or, when the transaction failed, each with why). */
function answer(requests: BatchRequest[], outcome: StoreOutcome): void {
  let offset = 0;
  requests.forEach((request, index) => {
    // The statements are reported once, with the first answer.
    const statements = index === 0 ? outcome.statements : [];
    if ("error" in outcome) {
      parentPort!.postMessage({ id: request.id, statements, error: outcome.error } satisfies WriterMessage);
      return;
    }
    const results = outcome.results.slice(offset, (offset += request.events.length));
    parentPort!.postMessage({ id: request.id, statements, results } satisfies WriterMessage);
  });
}
