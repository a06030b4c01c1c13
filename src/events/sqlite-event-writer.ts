import Database from "libsql";
import { configureSqliteConnection } from "../db/sqlite-connection.js";
import { numberFrom, planBatch, prepareEvent, type PreparedEvent, type StoredKeys } from "./batch-plan.js";
import { EVENT_COLUMNS, type NewEvent, type WriteResult } from "./event.js";
import type { EventWriter } from "./event-log.js";

type Statement = ReturnType<Database.Database["prepare"]>;

const LOCK_SEQUENCE =
  "insert into event_sequence (account_id, value) values (?, 0) " +
  "on conflict (account_id) do update set value = event_sequence.value returning value";
const STORED_KEYS =
  "select signed_key, resend_key from callback_event where signed_key in (select value from json_each(?)) " +
  "union all select signed_key, resend_key from callback_event where resend_key in (select value from json_each(?)) " +
  // A pruned event's keys are retained (see `retention.ts`): a key there is either kind.
  "union all select key, key from retained_key where key in (select value from json_each(?)) or key in (select value from json_each(?))";
// One prepared statement per row: in-process, that is cheaper than unpacking JSON.
const INSERT_EVENT = `insert into callback_event (${EVENT_COLUMNS.join(", ")}) values (${EVENT_COLUMNS.map(() => "?").join(", ")})`;
const ADVANCE_SEQUENCE = "update event_sequence set value = ? where account_id = ?";

/**
 * The event log's writer on the embedded database: a connection of its own to the file, with the settings of
 * every connection (`configureSqliteConnection`), and its statements prepared once. A batch is one transaction
 * that takes the file's write lock when it begins (waiting for another connection's commit up to the busy
 * timeout); per account (in a fixed order) it reads the counter (creating it at 0), reads which of the batch's
 * keys are stored, then inserts the new events (see `planBatch`) and advances the counters. It runs synchronously:
 * the service runs it on a thread of its own (`writer-thread.ts`).
 */
export class SqliteEventWriter implements EventWriter {
  private readonly connection: Database.Database;
  private readonly prepared = new Map<string, Statement>();

  constructor(
    filename: string,
    /** Told of every statement the writer runs. */
    private readonly onStatement: (sql: string) => void = () => {},
  ) {
    this.connection = new Database(filename);
    configureSqliteConnection(this.connection);
  }

  append(events: readonly NewEvent[]): Promise<WriteResult[]> {
    try {
      return Promise.resolve(this.transaction(events.map((event) => prepareEvent(event, (date) => date.getTime()))));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  close(): Promise<void> {
    this.connection.close();
    return Promise.resolve();
  }

  private statement(sql: string): Statement {
    this.onStatement(sql);
    let found = this.prepared.get(sql);
    if (!found) this.prepared.set(sql, (found = this.connection.prepare(sql)));
    return found;
  }

  private transaction(events: readonly PreparedEvent[]): WriteResult[] {
    const { connection } = this;
    this.onStatement("begin immediate");
    connection.exec("begin immediate");
    try {
      const accounts = [...new Set(events.map((event) => event.accountId))].sort();
      const start = new Map(accounts.map((accountId) => [accountId, (this.statement(LOCK_SEQUENCE).get([accountId]) as { value: number }).value]));
      const signedKeys = JSON.stringify(events.map((event) => event.signedKey));
      const resendKeys = JSON.stringify(events.map((event) => event.resendKey));
      const stored = this.statement(STORED_KEYS).all([signedKeys, resendKeys, signedKeys, resendKeys]) as StoredKeys;
      const plan = planBatch(events, stored);
      const { results, rows } = numberFrom(plan, start);
      for (const row of rows) this.statement(INSERT_EVENT).run(EVENT_COLUMNS.map((column) => row[column]));
      for (const [accountId, added] of plan.added) this.statement(ADVANCE_SEQUENCE).run([start.get(accountId)! + added, accountId]);
      this.onStatement("commit");
      connection.exec("commit");
      return results;
    } catch (error) {
      if (connection.inTransaction) connection.exec("rollback");
      throw error;
    }
  }
}
