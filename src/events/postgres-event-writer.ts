import pg from "pg";
import { sayGoodbye } from "../db/postgres-goodbye.js";
import { isStalePlan, type Statement } from "../db/statement.js";
import { numberFrom, planBatch, prepareEvent, type PreparedEvent, type StoredKeys } from "./batch-plan.js";
import { EVENT_COLUMNS, type NewEvent, type WriteResult } from "./event.js";
import type { EventWriter } from "./event-log.js";

// The writer's statements (with PostgreSQL's `$n` placeholders), each prepared once per connection by its name.
const STORED_KEYS: Statement = {
  name: "event_log_stored_keys",
  text:
    "select signed_key, resend_key from callback_event where signed_key in (select json_array_elements_text($1::json)) " +
    "union all select signed_key, resend_key from callback_event where resend_key in (select json_array_elements_text($2::json)) " +
    // A pruned event's keys are retained (see `retention.ts`): a key there is either kind.
    "union all select key, key from retained_key where key in (select json_array_elements_text($1::json)) or key in (select json_array_elements_text($2::json))",
};
// Advances each account's counter by its number of new rows (locking the counters in account order, until the
// statement commits), inserts the rows numbered from the counter's value before, and notifies every instance;
// answers each account's value before. Data-modifying CTEs always run to completion. When a key of the batch is
// among the keys retained for pruned events ($4), it writes nothing and answers no row: the batch is then written
// again after reading which keys are stored.
const WRITE: Statement = {
  name: "event_log_write",
  text:
    "with retained as (select 1 from retained_key where key in (select json_array_elements_text($4::json)) limit 1), " +
    "counts as (select account_id, added from json_to_recordset($2::json) as c(account_id text, added int) where not exists (select 1 from retained)), " +
    "locked as (insert into event_sequence (account_id, value) select account_id, added from counts order by account_id " +
    "on conflict (account_id) do update set value = event_sequence.value + excluded.value returning account_id, value), " +
    "based as (select l.account_id, l.value - c.added as base, l.value from locked l join counts c using (account_id)), " +
    `inserted as (insert into callback_event (${EVENT_COLUMNS.join(", ")}) ` +
    `select ${EVENT_COLUMNS.map((column) => (column === "sequence" ? "b.base + r.sequence" : `r.${column}`)).join(", ")} ` +
    "from json_populate_recordset(null::callback_event, $1::json) r join based b using (account_id)) " +
    "select account_id, base, pg_notify($3, account_id || ':' || value) from based",
};
/** How the writer's connection names itself to the database (`pg_stat_activity.application_name`). */
export const WRITER_APPLICATION_NAME = "access-subgraph event writer";
/**
 * How long a batch's statement may take before its callers are answered 503 (the sender retries, and a statement
 * that completed after all makes the retry a duplicate). Under load a statement takes milliseconds; this is for a
 * database that stopped answering without closing the connection.
 */
export const WRITE_TIMEOUT_MS = 10_000;
/** How long opening the writer's connection may take before its batch is answered 503. */
export const CONNECT_TIMEOUT_MS = 5000;
/** A key of the batch belongs to a pruned event (the write stored nothing): the batch is written again after reading. */
class RetainedKeyConflict extends Error {
  override name = "RetainedKeyConflict";
}


/** The unique keys a writer on another instance may have just taken (see `append`). */
const KEY_CONSTRAINTS = new Set(["callback_event_signed_key_unique", "callback_event_resend_key_unique"]);

/**
 * The event log's writer on PostgreSQL. Batches are written on a connection of their own (one batch at a time),
 * usually in one statement whatever the batch's size: it advances the counters, inserts the rows and sends the
 * `NOTIFY` that tells every instance (this one's listener included) that there is more, and commits on its own.
 * The counters' row locks order an account's commits across instances, so events become visible in sequence
 * order. The batch is first written as if none of its keys were stored (duplicates within it are answered without
 * the database); when one was, the write fails on the unique key and stores nothing, and the batch is written
 * again after reading which keys are stored (twice at most: another instance may store one of them between the
 * read and the write). A connection that fails, or whose statement is not answered within `timeoutMs`, is dropped
 * and the next batch opens another, so the writer recovers by itself when the database returns. The service runs
 * it on a thread of its own (`writer-thread.ts`).
 */
export class PostgresEventWriter implements EventWriter {
  /** The writer's connection, held between batches; null until the next batch opens one. */
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private closed = false;

  constructor(
    private readonly options: {
      databaseUrl: string;
      /** The channel every instance's feed listens on (`event-feed.ts`). */
      notifyChannel: string;
      /** Told when the writer drops a connection that failed. */
      logger: { warn(fields: { err: unknown }, message: string): void };
      /** Told of every statement the writer runs. */
      onStatement?: (sql: string) => void;
      /** How long a statement may go unanswered before its batch fails and the connection is dropped. @default {@link WRITE_TIMEOUT_MS} */
      timeoutMs?: number;
      /** How long opening a connection may take before the batch fails. @default {@link CONNECT_TIMEOUT_MS} */
      connectTimeoutMs?: number;
    },
  ) {}

  async append(inputs: readonly NewEvent[]): Promise<WriteResult[]> {
    const events = inputs.map((input) => prepareEvent(input, (date) => date.toISOString()));
    try {
      return await this.appendOnce(events);
    } catch (error) {
      // The connection's prepared statements outlived a change of the schema (a release migrating beside this one):
      // the batch stored nothing and the connection was dropped; a new one prepares them again.
      if (!isStalePlan(error)) throw error;
      return await this.appendOnce(events);
    }
  }

  private async appendOnce(events: PreparedEvent[]): Promise<WriteResult[]> {
    // With the connection open, the statement is sent before this function first waits: the batch goes out before
    // the writer answers the callers of the batch before it.
    const client = this.client ?? (await (this.connecting ??= this.connect().finally(() => (this.connecting = null))));
    const query = async <T extends pg.QueryResultRow>(statement: Statement, values: unknown[]) => {
      this.options.onStatement?.(statement.text);
      return (await client.query<T>({ ...statement, values })).rows;
    };
    try {
      // First as if none of the keys were stored (the usual case: one statement); when one was, read which.
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.write(query, events, attempt > 1);
        } catch (error) {
          const { code, constraint } = error as { code?: string; constraint?: string };
          const retry = error instanceof RetainedKeyConflict || (code === "23505" && KEY_CONSTRAINTS.has(constraint ?? ""));
          if (attempt === 3 || !retry) throw error;
        }
      }
    } catch (error) {
      // A refusal by the database leaves the connection usable; anything else (it ended, the server is shutting
      // down, a prepared statement went stale) drops it, and the next batch opens another.
      const refused =
        error instanceof RetainedKeyConflict || (error instanceof pg.DatabaseError && !/^(08|57)/.test(error.code ?? "") && !isStalePlan(error));
      if (!refused) this.drop(client);
      throw error;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    if (!client) return;
    await sayGoodbye(client);
  }

  private async connect(): Promise<pg.Client> {
    if (this.closed) throw new Error("the event writer is closed");
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
      query_timeout: this.options.timeoutMs ?? WRITE_TIMEOUT_MS,
      application_name: WRITER_APPLICATION_NAME,
    });
    // Heard, a connection that fails between batches is only dropped; unheard, the error would end the process.
    client.on("error", (error) => {
      this.options.logger.warn({ err: error }, "the event writer's connection failed; the next batch opens another");
      this.drop(client);
    });
    try {
      await client.connect();
    } catch (error) {
      client.end().catch(() => {});
      throw error;
    }
    this.client = client;
    return client;
  }

  private drop(client: pg.Client): void {
    if (this.client === client) this.client = null;
    client.end().catch(() => {});
  }

  private async write(
    query: <T extends pg.QueryResultRow>(statement: Statement, values: unknown[]) => Promise<T[]>,
    events: PreparedEvent[],
    readStored: boolean,
  ): Promise<WriteResult[]> {
    const stored = readStored
      ? await query<StoredKeys[number]>(STORED_KEYS, [
          JSON.stringify(events.map((event) => event.signedKey)),
          JSON.stringify(events.map((event) => event.resendKey)),
        ])
      : [];
    const plan = planBatch(events, stored);
    if (plan.rows.length === 0) return plan.results;
    const counts = [...plan.added].map(([account_id, added]) => ({ account_id, added }));
    const based = await query<{ account_id: string; base: number | string }>(WRITE, [
      JSON.stringify(plan.rows),
      JSON.stringify(counts),
      this.options.notifyChannel,
      JSON.stringify(plan.rows.flatMap((row) => [row.signed_key, row.resend_key])),
    ]);
    if (based.length === 0) throw new RetainedKeyConflict();
    return numberFrom(plan, new Map(based.map((row) => [row.account_id, Number(row.base)]))).results;
  }
}
