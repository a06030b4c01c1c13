import Database from "libsql";
import { parentPort, workerData } from "node:worker_threads";
import { configureSqliteConnection } from "../db/sqlite-connection.js";
import { EVENT_COLUMNS, storeBatch, type PreparedEvent, type WriteResult } from "./event-batch.js";

/** A batch to store, from `SqliteEventBatchStore`. */
export interface BatchRequest {
  id: number;
  events: PreparedEvent[];
}

/** The answer to a batch: its results, or why nothing of it was stored; and the statements run. */
export type BatchResponse = { id: number; statements: string[] } & (
  | { results: WriteResult[] }
  | { error: { message: string; code?: string } }
);

/**
 * The event log's writer on the embedded database: its own connection in its own thread, so that the service's
 * thread keeps reading callbacks while a batch commits (and the next batch grows meanwhile). One batch at a time,
 * each in one IMMEDIATE transaction. The service's thread prepares the events (keys, ids, rows); this thread only
 * runs the statements.
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

parentPort!.on("message", async ({ id, events }: BatchRequest) => {
  const statements: string[] = [];
  const statement = (sql: string) => {
    statements.push(sql);
    let found = prepared.get(sql);
    if (!found) prepared.set(sql, (found = connection.prepare(sql)));
    return found;
  };
  const respond = (response: BatchResponse) => parentPort!.postMessage(response);
  try {
    connection.exec("begin immediate");
    statements.push("begin immediate");
    try {
      const results = await storeBatch(
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
      respond({ id, statements, results });
    } catch (error) {
      if (connection.inTransaction) connection.exec("rollback");
      throw error;
    }
  } catch (error) {
    const { message, code } = error as { message?: string; code?: string };
    respond({ id, statements, error: { message: message ?? String(error), code } });
  }
});
