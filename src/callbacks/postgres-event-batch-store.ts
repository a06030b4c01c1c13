import type { EntityManager } from "@mikro-orm/core";
import type { SqlEntityManager } from "@mikro-orm/knex";
import { prepareEvent, storeBatch, type EventInput, type WriteResult } from "./event-batch.js";
import type { EventBatchStore } from "./event-writer.js";

/**
 * Batches on PostgreSQL, through the service's pool. The notification that tells the other instances (and this
 * one's listener) about new events is sent inside the storing transaction.
 */
export class PostgresEventBatchStore implements EventBatchStore {
  constructor(
    private readonly em: () => EntityManager,
    private readonly notifyChannel: string,
  ) {}

  store(inputs: EventInput[]): Promise<WriteResult[]> {
    return (this.em() as SqlEntityManager).transactional((tx) =>
      storeBatch(
        {
          all: (sql, params) => tx.execute(sql, params as never[], "all"),
          run: (sql, params) => tx.execute(sql, params as never[], "run"),
        },
        "postgresql",
        inputs.map((input) => prepareEvent(input, (date) => date.toISOString())),
        (accountId, sequence) => tx.execute("select pg_notify(?, ?)", [this.notifyChannel, `${accountId}:${sequence}`]),
      ),
    );
  }

  async close(): Promise<void> {}
}
