import type { EntityManager } from "@mikro-orm/core";
import type { Knex } from "@mikro-orm/knex";
import type LibSql from "libsql";
import { numberFrom, planBatch, prepareEvent, type PreparedEvent, type StoredKeys } from "./batch-plan.js";
import { EVENT_COLUMNS, type NewEvent, type WriteResult } from "./event.js";
import { SqlEventLog } from "./event-log.js";

type Connection = Pick<LibSql.Database, "exec" | "prepare" | "inTransaction">;
type Statement = ReturnType<Connection["prepare"]>;

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
 * The event log on the embedded database. A batch is one transaction on the service's own connection, taken from
 * the ORM's pool of one (so it never runs inside another transaction, and no second connection ever competes for
 * the file's write lock) and run synchronously, with its statements prepared once per connection. The
 * transaction takes the write lock when it begins; per account (in a fixed order) it reads the counter (creating
 * it at 0), reads which of the batch's keys are stored, then inserts the new events (see `planBatch`) and advances
 * the counters.
 */
export class SqliteEventLog extends SqlEventLog {
  private readonly prepared = new WeakMap<Connection, Map<string, Statement>>();

  constructor(
    em: () => EntityManager,
    private readonly knex: Knex,
    /** Told of every statement the log runs (the service counts them). */
    private readonly onStatement: (sql: string) => void = () => {},
  ) {
    super(em);
  }

  async append(events: readonly NewEvent[]): Promise<WriteResult[]> {
    const prepared = events.map((event) => prepareEvent(event, (date) => date.getTime()));
    const connection = (await this.knex.client.acquireConnection()) as Connection;
    try {
      return this.transaction(connection, prepared);
    } finally {
      await this.knex.client.releaseConnection(connection);
    }
  }

  async close(): Promise<void> {}

  private transaction(connection: Connection, events: readonly PreparedEvent[]): WriteResult[] {
    let statements = this.prepared.get(connection);
    if (!statements) this.prepared.set(connection, (statements = new Map()));
    const statement = (sql: string) => {
      this.onStatement(sql);
      let found = statements.get(sql);
      if (!found) statements.set(sql, (found = connection.prepare(sql)));
      return found;
    };
    this.onStatement("begin immediate");
    connection.exec("begin immediate");
    try {
      const accounts = [...new Set(events.map((event) => event.accountId))].sort();
      const start = new Map(accounts.map((accountId) => [accountId, (statement(LOCK_SEQUENCE).get([accountId]) as { value: number }).value]));
      const signedKeys = JSON.stringify(events.map((event) => event.signedKey));
      const resendKeys = JSON.stringify(events.map((event) => event.resendKey));
      const stored = statement(STORED_KEYS).all([signedKeys, resendKeys, signedKeys, resendKeys]) as StoredKeys;
      const plan = planBatch(events, stored);
      const { results, rows } = numberFrom(plan, start);
      for (const row of rows) statement(INSERT_EVENT).run(EVENT_COLUMNS.map((column) => row[column]));
      for (const [accountId, added] of plan.added) statement(ADVANCE_SEQUENCE).run([start.get(accountId)! + added, accountId]);
      this.onStatement("commit");
      connection.exec("commit");
      return results;
    } catch (error) {
      if (connection.inTransaction) connection.exec("rollback");
      throw error;
    }
  }
}
