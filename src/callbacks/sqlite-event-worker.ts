import { parentPort, workerData } from "node:worker_threads";
import { prepareEvent, type EventInput } from "./event-batch.js";
import { MAX_BATCH } from "./event-writer.js";
import { SqliteEventLog, type StoreOutcome } from "./sqlite-event-log.js";

/** A batch to store, from `SqliteEventBatchStore`. */
export interface BatchRequest {
  id: number;
  events: EventInput[];
}

/** The answer to a batch: its results, or why nothing of it was stored; and the statements run. */
export type BatchResponse = { id: number } & StoreOutcome;

/**
 * The event log's writer on the embedded database: its own connection in its own thread, so that the service's
 * thread keeps reading callbacks while a batch commits. One IMMEDIATE transaction at a time, holding every batch
 * that reached this thread while the last one ran: the next transaction never waits for the service's thread to
 * answer the last one's callers. This thread also prepares the events (keys, ids, rows), which the service's thread
 * would otherwise do between reading callbacks.
 */
const log = new SqliteEventLog((workerData as { filename: string }).filename);

/** Requests that arrived while a transaction ran: the next transaction stores them (up to `MAX_BATCH` events). */
const queued: BatchRequest[] = [];
let running = false;

parentPort!.on("message", (request: BatchRequest) => {
  queued.push(request);
  if (!running) {
    running = true;
    // After the messages already delivered to this thread, so that they share the commit.
    setImmediate(flush);
  }
});

function flush(): void {
  // Whole requests, at least one, until the transaction holds MAX_BATCH events; the rest go into the next.
  let count = 0;
  let taken = 0;
  while (taken < queued.length && (taken === 0 || count + queued[taken]!.events.length <= MAX_BATCH)) {
    count += queued[taken]!.events.length;
    taken += 1;
  }
  const requests = queued.splice(0, taken);
  store(requests);
  running = queued.length > 0;
  if (running) setImmediate(flush);
}

/**
 * Stores the events of every request in one transaction, and answers each request with its own results (or,
 * when the transaction failed, each with why: nothing of any of them was stored).
 */
function store(requests: BatchRequest[]): void {
  const events = requests.flatMap((request) => request.events.map((input) => prepareEvent(input, (date) => date.getTime())));
  const outcome = log.store(events);
  let offset = 0;
  requests.forEach((request, index) => {
    // The statements are reported once, with the first answer.
    const statements = index === 0 ? outcome.statements : [];
    if ("error" in outcome) {
      parentPort!.postMessage({ id: request.id, statements, error: outcome.error } satisfies BatchResponse);
      return;
    }
    const results = outcome.results.slice(offset, (offset += request.events.length));
    parentPort!.postMessage({ id: request.id, statements, results } satisfies BatchResponse);
  });
}
