import Database from "libsql";
import { parentPort, workerData } from "node:worker_threads";
import { configureSqliteConnection } from "../db/sqlite-connection.js";
import { storeBatch, type PreparedEvent, type WriteResult } from "./event-batch.js";

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
const connection = new Database((workerData as { filename: string }).filename);
configureSqliteConnection(connection);
const prepared = new Map<string, ReturnType<Database.Database["prepare"]>>();
const statement = (sql: string) => {
  let found = prepared.get(sql);
  if (!found) prepared.set(sql, (found = connection.prepare(sql)));
  return found;
};

parentPort!.on("message", async ({ id, events }: BatchRequest) => {
  const statements: string[] = [];
  const respond = (response: BatchResponse) => parentPort!.postMessage(response);
  try {
    connection.exec("begin immediate");
    statements.push("begin immediate");
    try {
      const results = await storeBatch(
        {
          all: <T>(sql: string, params: unknown[]) => (statements.push(sql), statement(sql).all(params) as T[]),
          run: (sql, params) => (statements.push(sql), statement(sql).run(params)),
        },
        "sqlite",
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
