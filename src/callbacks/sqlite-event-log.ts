import Database from "libsql";
import { configureSqliteConnection } from "../db/sqlite-connection.js";
import { EVENT_COLUMNS, numberFrom, planBatch, type PreparedEvent, type StoredKeys, type WriteResult } from "./event-batch.js";

const LOCK_SEQUENCE =
  "insert into event_sequence (account_id, value) values (?, 0) " +
  "on conflict (account_id) do update set value = event_sequence.value returning value";
const STORED_KEYS =
  "select signed_key, transfer_key from callback_event where signed_key in (select value from json_each(?)) " +
  "union all select signed_key, transfer_key from callback_event where transfer_key in (select value from json_each(?))";
// One prepared statement per row: in-process, that is cheaper than unpacking JSON.
const INSERT_EVENT = `insert into callback_event (${EVENT_COLUMNS.join(", ")}) values (${EVENT_COLUMNS.map(() => "?").join(", ")})`;
const ADVANCE_SEQUENCE = "update event_sequence set value = ? where account_id = ?";

/** Why a transaction stored nothing, as it can cross to another thread. */
export type StoreFailure = { message: string; code?: string };

/** A transaction's outcome: its results, or why nothing of it was stored; and the statements it ran. */
export type StoreOutcome = { statements: string[] } & ({ results: WriteResult[] } | { error: StoreFailure });

/** An error thrown while storing, as a `StoreFailure` (its message, and the driver's code when it has one). */
export function failureOf(error: unknown): StoreFailure {
  const { message, code } = error as { message?: string; code?: string };
  return { message: message ?? String(error), ...(code === undefined ? {} : { code: String(code) }) };
}

/**
 * The event log on the embedded database, on a connection of its own: one IMMEDIATE transaction per call to
 * `store`, with the statements prepared once. The transaction first takes the database's write lock, so no other
 * writer can store one of the batch's keys or move a counter between the reads and the inserts: per account (in a
 * fixed order) it reads the counter (creating it at 0), reads which keys are stored, then inserts the new events
 * (see `planBatch`) and advances the counters.
 */
export class SqliteEventLog {
  private readonly connection: Database.Database;
  private readonly prepared = new Map<string, ReturnType<Database.Database["prepare"]>>();

  constructor(filename: string) {
    this.connection = new Database(filename);
    configureSqliteConnection(this.connection);
  }

  store(events: readonly PreparedEvent[]): StoreOutcome {
    const { connection } = this;
    const statements: string[] = [];
    const statement = (sql: string) => {
      statements.push(sql);
      let found = this.prepared.get(sql);
      if (!found) this.prepared.set(sql, (found = connection.prepare(sql)));
      return found;
    };
    try {
      connection.exec("begin immediate");
      statements.push("begin immediate");
      try {
        const accounts = [...new Set(events.map((event) => event.accountId))].sort();
        const start = new Map(accounts.map((accountId) => [accountId, (statement(LOCK_SEQUENCE).get([accountId]) as { value: number }).value]));
        const stored = statement(STORED_KEYS).all([
          JSON.stringify(events.map((event) => event.signedKey)),
          JSON.stringify(events.map((event) => event.transferKey)),
        ]) as StoredKeys;
        const plan = planBatch(events, stored);
        const { results, rows } = numberFrom(plan, start);
        for (const row of rows) statement(INSERT_EVENT).run(EVENT_COLUMNS.map((column) => row[column]));
        for (const [accountId, added] of plan.added) statement(ADVANCE_SEQUENCE).run([start.get(accountId)! + added, accountId]);
        connection.exec("commit");
        statements.push("commit");
        return { statements, results };
      } catch (error) {
        if (connection.inTransaction) connection.exec("rollback");
        throw error;
      }
    } catch (error) {
      return { statements, error: failureOf(error) };
    }
  }

  close(): void {
    this.connection.close();
  }
}
