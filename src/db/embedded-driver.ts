import type { Configuration } from "@mikro-orm/core";
import { AbstractSqlDriver, LibSqlKnexDialect } from "@mikro-orm/knex";
import { LibSqlConnection, LibSqlPlatform } from "@mikro-orm/libsql";

/**
 * The libsql dialect with write transactions that take the file's write lock when they begin (`BEGIN
 * IMMEDIATE`), waiting for it up to the busy timeout. A deferred `BEGIN` reads first and asks for the lock at its
 * first write; if another process (the CLI, another instance) committed in between, SQLite refuses at once with
 * SQLITE_BUSY instead of waiting, because the transaction's snapshot is stale.
 */
class ImmediateTransactionDialect extends LibSqlKnexDialect {
  override async _query(connection: unknown, query: { sql: string }): Promise<unknown> {
    if (query.sql === "BEGIN;") query.sql = "BEGIN IMMEDIATE;";
    return super._query(connection, query);
  }
}

class EmbeddedConnection extends LibSqlConnection {
  override createKnex(): void {
    this.client = this.createKnexClient(ImmediateTransactionDialect as unknown as string);
    this.connected = true;
  }
}

/** MikroORM's libsql driver, with {@link ImmediateTransactionDialect}. */
export class EmbeddedDriver extends AbstractSqlDriver<LibSqlConnection> {
  constructor(config: Configuration) {
    super(config, new LibSqlPlatform(), EmbeddedConnection, ["knex", "libsql"]);
  }
}
