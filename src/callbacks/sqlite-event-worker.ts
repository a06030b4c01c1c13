import Database from "libsql";
import { parentPort, workerData } from "node:worker_threads";
import { configureSqliteConnection } from "../db/sqlite-connection.js";
import { EVENT_COLUMNS, prepareEvent, storeBatch, type EventInput, type WriteResult } from "./event-batch.js";

/** A batch to store, from `SqliteEventBatchStore`. */
export interface BatchRequest {
  id: number;
  events: EventInput[];
}

/** The answer to a batch: its results, or why nothing of it was stored; and the statements run. */
export type BatchResponse = { id: number; statements: string[] } & (
  | { results: WriteResult[] }
  | { error: { message: string; code?: string } }
);

/**
 * The event log's writer on the embedded database: its own connection in its own thread, so that the service's
 * thread keeps reading callbacks while a batch commits. One IMMEDIATE transaction at a time, holding every batch
 * that reached this thread while the last one ran: the next transaction never waits for the service's thread to
 * answer the last one's callers. This thread also prepares the events (keys, ids, rows), which the service's thread
 * would otherwise do between reading callbacks.
 */
const LOCK_SEQUENCE =
  "insert into event_sequence (account_id, value) values (?, 0) " +
  "on conflict (account_id) do update set value = event_sequence.value returning value";
const STORED_KEYS =
  "select signed_key, transfer_key from callback_event where signed_key in (select value from json_each(?)) " +
  "union all select signed_key, transfer_key from callback_event where transfer_key in (select value from json_each(?))";
// One prepared statement per row: in-process, that is cheaper than unpacking JSON.
const INSERT_EVENT = `insert into callback_event (${EVENT_COLUMNS.join(", ")}) values (${EVENT_COLUMNS.map(() => "?").join(", ")})`;
const ADVANCE_SEQUENCE = "update event_sequence set value = ? where account_id = ?";

const connection = new Database((workerData as { filename: string }).filename);
configureSqliteConnection(connection);
const prepared = new Map<string, ReturnType<Database.Database["prepare"]>>();

/** Requests that arrived while a transaction ran: the next transaction stores them all. */
let queued: BatchRequest[] = [];
let running = false;

parentPort!.on("message", (request: BatchRequest) => {
  queued.push(request);
  if (!running) {
    running = true;
    // After the messages already delivered to this thread, so that they share the commit.
    setImmediate(flush);
  }
});

async function flush(): Promise<void> {
  const requests = queued;
  queued = [];
  await store(requests);
  running = queued.length > 0;
  if (running) setImmediate(flush);
}

/**
 * Stores the events of every request in one transaction, and answers each request with its own results (or,
 * when the transaction failed, each with why: nothing of any of them was stored).
 */
async function store(requests: BatchRequest[]): Promise<void> {
  const statements: string[] = [];
  const statement = (sql: string) => {
    statements.push(sql);
    let found = prepared.get(sql);
    if (!found) prepared.set(sql, (found = connection.prepare(sql)));
    return found;
  };
  // The statements are reported once, with the first answer.
  const answer = (response: (request: BatchRequest, index: number) => BatchResponse) =>
    requests.forEach((request, index) => parentPort!.postMessage(response(request, index)));
  const events = requests.flatMap((request) => request.events.map((input) => prepareEvent(input, (date) => date.getTime())));
  try {
    connection.exec("begin immediate");
    statements.push("begin immediate");
    let results: WriteResult[];
    try {
      results = await storeBatch(
        {
          lockSequence: (accountId) => (statement(LOCK_SEQUENCE).get([accountId]) as { value: number }).value,
          storedKeys: (signedKeys, transferKeys) =>
            statement(STORED_KEYS).all([JSON.stringify(signedKeys), JSON.stringify(transferKeys)]) as {
              signed_key: string;
              transfer_key: string;
            }[],
          write: (rows, counters) => {
            for (const row of rows) statement(INSERT_EVENT).run(EVENT_COLUMNS.map((column) => row[column]));
            for (const [accountId, sequence] of counters) statement(ADVANCE_SEQUENCE).run([sequence, accountId]);
          },
        },
        events,
      );
      connection.exec("commit");
      statements.push("commit");
    } catch (error) {
      if (connection.inTransaction) connection.exec("rollback");
      throw error;
    }
    let offset = 0;
    answer((request, index) => {
      const slice = results.slice(offset, (offset += request.events.length));
      return { id: request.id, statements: index === 0 ? statements : [], results: slice };
    });
  } catch (error) {
    const { message, code } = error as { message?: string; code?: string };
    answer((request, index) => ({ id: request.id, statements: index === 0 ? statements : [], error: { message: message ?? String(error), code } }));
  }
}
