import pg from "pg";
import type { Logger } from "../logger.js";
import { EVENT_COLUMNS, prepareEvent, storeBatch, type EventInput, type WriteResult } from "./event-batch.js";
import type { EventBatchStore } from "./event-writer.js";

const LOCK_SEQUENCE =
  "insert into event_sequence (account_id, value) values ($1, 0) " +
  "on conflict (account_id) do update set value = event_sequence.value returning value";
const STORED_KEYS =
  "select signed_key, transfer_key from callback_event where signed_key in (select json_array_elements_text($1::json)) " +
  "union all select signed_key, transfer_key from callback_event where transfer_key in (select json_array_elements_text($2::json))";
// The rows, the counters and the notification in one statement (data-modifying CTEs always run to completion).
const WRITE =
  `with inserted as (insert into callback_event (${EVENT_COLUMNS.join(", ")}) ` +
  `select ${EVENT_COLUMNS.join(", ")} from json_populate_recordset(null::callback_event, $1::json)), ` +
  "advanced as (update event_sequence s set value = c.value from json_to_recordset($2::json) as c(account_id text, value int) " +
  "where s.account_id = c.account_id returning s.account_id, s.value) " +
  "select pg_notify($3, account_id || ':' || value) from advanced";

/**
 * Batches on PostgreSQL, on a connection of their own (one batch at a time), in a fixed four statements whatever
 * the batch's size: begin, lock each account's counter, read the stored keys, write (the rows, the counters and the
 * `NOTIFY` that tells every instance, this one's listener included, that there is more), commit. A connection
 * that fails is dropped and the next batch opens another, so the writer recovers by itself when the database
 * returns.
 */
export class PostgresEventBatchStore implements EventBatchStore {
  private readonly pool: pg.Pool;

  constructor(
    databaseUrl: string,
    private readonly notifyChannel: string,
    private readonly onStatement: (sql: string) => void,
    logger: Logger,
  ) {
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 1, connectionTimeoutMillis: 5000 });
    this.pool.on("error", (error) => logger.warn({ err: error }, "the event writer's idle connection failed; the next batch opens another"));
  }

  async store(inputs: EventInput[]): Promise<WriteResult[]> {
    const events = inputs.map((input) => prepareEvent(input, (date) => date.toISOString()));
    const client = await this.pool.connect();
    const query = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => {
      this.onStatement(sql);
      return (await client.query<T>(sql, params)).rows;
    };
    let broken: Error | undefined;
    // A connection that dies while this batch holds it reports here too (the pool listens only to idle ones);
    // unheard, the error would end the process.
    const lost = (error: Error) => (broken = error);
    client.on("error", lost);
    try {
      await query("begin");
      const results = await storeBatch(
        {
          lockSequence: async (accountId) => (await query<{ value: number }>(LOCK_SEQUENCE, [accountId]))[0]!.value,
          storedKeys: (signedKeys, transferKeys) =>
            query<{ signed_key: string; transfer_key: string }>(STORED_KEYS, [JSON.stringify(signedKeys), JSON.stringify(transferKeys)]),
          write: async (rows, counters) => {
            const values = [...counters].map(([account_id, value]) => ({ account_id, value }));
            await query(WRITE, [JSON.stringify(rows), JSON.stringify(values), this.notifyChannel]);
          },
        },
        events,
      );
      await query("commit");
      return results;
    } catch (error) {
      await client.query("rollback").catch((rollbackFailed: Error) => (broken = rollbackFailed));
      throw error;
    } finally {
      client.off("error", lost);
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
