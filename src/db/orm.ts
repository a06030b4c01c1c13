import { ConnectionException, DriverException, MikroORM, ReflectMetadataProvider, type Options } from "@mikro-orm/core";

import { Migrator } from "@mikro-orm/migrations";
import { PostgreSqlDriver } from "@mikro-orm/postgresql";
import type { Knex, SqlEntityManager } from "@mikro-orm/knex";
import type LibSql from "libsql";
import path from "node:path";
import pg from "pg";
import type { Config } from "../config.js";
import { isDatabaseUnavailable } from "./database-unavailable.js";
import { entities } from "./entities.js";
import { migrationsFor, type Dialect } from "./migrations/index.js";
import { ensurePrivateFile, restrictMode } from "../private-files.js";
import { configureSqliteConnection } from "./sqlite-connection.js";
import { EmbeddedDriver } from "./embedded-driver.js";
import { isStalePlan, textOf, type RunStatement, type Statement } from "./statement.js";

/** An open database: the ORM, which dialect it speaks, and a hook on every SQL statement sent. */
export interface Database {
  orm: MikroORM;
  dialect: Dialect;
  /** The ORM's query builder and connection pool. */
  knex: Knex;
  /** Registers a listener called once per SQL statement (used for metrics and statement-count tests). */
  onStatement(listener: (sql: string) => void): void;
  /**
   * Runs one statement outside any entity manager and answers its rows: for statements whose rows are read as they
   * are, which need no unit of work (forking one for each costs memory). It runs on a connection of the ORM's pool
   * without the ORM and its query builder, a {@link Statement} prepared once per connection.
   */
  execute: RunStatement;
  /** Runs the pending migrations of this dialect (the schema never comes from anything else); names those run. */
  migrate(): Promise<string[]>;
  /** The migrations of this release that the database has not run yet. */
  pendingMigrations(): Promise<string[]>;
  /**
   * Runs `work` while no other instance on the same database runs its own: on PostgreSQL under a session advisory
   * lock taken on a connection of its own, waiting for an instance that holds it; on SQLite (one process) as is.
   * Instances started together migrate and seed one after the other.
   */
  exclusively<T>(work: () => Promise<T>): Promise<T>;
  /** True when the database answers a trivial query within the ready-check timeout (`READY_CHECK_TIMEOUT_MS`). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

type SqliteConnection = Pick<LibSql.Database, "exec">;

/** The advisory lock instances take to migrate and seed one at a time (any fixed 64-bit number of this service's). */
const START_LOCK_KEY = "7426918304153379841";

/** The SQLite file of the embedded default. */
export function sqlitePath(config: Pick<Config, "dataDir">): string {
  return path.join(config.dataDir, "access.sqlite");
}

/**
 * PostgreSQL, with the database's silence told apart from its refusals: an error that says no answer came
 * (`isDatabaseUnavailable`) becomes a `ConnectionException`, which every adapter answers "unavailable, retry".
 */
class PostgreSqlDriverTellingSilence extends PostgreSqlDriver {
  override convertException(exception: Error): DriverException {
    if (!(exception instanceof DriverException) && isDatabaseUnavailable(exception)) return new ConnectionException(exception);
    return super.convertException(exception);
  }
}

/** A pooled PostgreSQL connection, as the pool hands it out (it names each connection it opens). */
type PooledClient = pg.Client & { __knexUid: string };

/**
 * The connections the pool opened, by the name the pool gave them: a statement that times out names its connection
 * in its error event, and that connection must be ended.
 */
class PooledClients {
  private readonly open = new Map<string, PooledClient>();
  private readonly abandoned = new WeakSet<pg.Client>();

  add(client: PooledClient): void {
    this.open.set(client.__knexUid, client);
    client.once("end", () => this.open.delete(client.__knexUid));
  }

  /**
   * Ends the connection of a statement that went unanswered. The client gives up waiting on its own but keeps the
   * connection, and every later statement on it (a transaction's rollback, the next request's) would queue behind
   * the unanswered one; ended, its socket is destroyed at once, the statements queued on it fail at once, and the
   * pool discards it instead of handing it out again.
   */
  abandon(uid: string | undefined): void {
    const client = uid === undefined ? undefined : this.open.get(uid);
    if (!client) return;
    this.open.delete(uid!);
    this.abandoned.add(client);
    client.end().catch(() => {});
  }

  /** Whether the pool may hand the connection out (it checks before each time). */
  usable(client: pg.Client): boolean {
    return !this.abandoned.has(client);
  }
}

/** `?` placeholders numbered as PostgreSQL's (`$1`, `$2`, ...); the service's statements hold no other `?`. */
function numbered(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

/**
 * Runs statements on connections of the ORM's pool with the PostgreSQL client alone: the pool's acquire timeout and
 * check of each connection hold as for the ORM's statements, as do the client's statement timeout and the ending
 * of a connection whose statement went unanswered. A {@link Statement} is prepared by its name on each connection
 * it runs on; one that a change of the schema made stale runs again on another connection.
 */
function pooledStatements(
  knex: Knex,
  pooled: PooledClients,
  convert: (error: Error) => Error,
  onStatement: (sql: string) => void,
): RunStatement {
  // Each fixed statement's text as PostgreSQL reads it, by name.
  const texts = new Map<string, string>();
  const textFor = (statement: Statement) => {
    let text = texts.get(statement.name);
    if (text === undefined) texts.set(statement.name, (text = numbered(statement.text)));
    return text;
  };
  const run = async <T>(statement: Statement | string, params: unknown[], attempt: number): Promise<T[]> => {
    const client = (await knex.client.acquireConnection().catch((error: Error) => Promise.reject(convert(error)))) as PooledClient;
    try {
      onStatement(textOf(statement));
      const query =
        typeof statement === "string"
          ? { text: numbered(statement), values: params }
          : { name: statement.name, text: textFor(statement), values: params };
      return (await client.query(query)).rows as T[];
    } catch (error) {
      const stale = attempt === 0 && isStalePlan(error);
      if (stale || isDatabaseUnavailable(error)) pooled.abandon(client.__knexUid);
      if (!stale) throw convert(error as Error);
    } finally {
      await knex.client.releaseConnection(client);
    }
    return run<T>(statement, params, attempt + 1);
  };
  return (statement, params) => run(statement, params, 0);
}

/**
 * Runs statements on the ORM's SQLite connection with the driver alone (the pool's turn at the connection holds as
 * for the ORM's statements). A {@link Statement} is prepared once per connection, by its name; through the ORM every
 * call prepared a statement of its own, with its values written into the text.
 */
function embeddedStatements(knex: Knex, convert: (error: Error) => Error, onStatement: (sql: string) => void): RunStatement {
  const prepared = new WeakMap<LibSql.Database, Map<string, LibSql.Statement>>();
  const preparedOn = (connection: LibSql.Database, statement: Statement) => {
    let byName = prepared.get(connection);
    if (!byName) prepared.set(connection, (byName = new Map()));
    let ready = byName.get(statement.name);
    if (!ready) byName.set(statement.name, (ready = connection.prepare(statement.text)));
    return ready;
  };
  return async <T>(statement: Statement | string, params: unknown[]): Promise<T[]> => {
    const connection = (await knex.client.acquireConnection().catch((error: Error) => Promise.reject(convert(error)))) as LibSql.Database;
    try {
      onStatement(textOf(statement));
      const ready = typeof statement === "string" ? connection.prepare(statement) : preparedOn(connection, statement);
      // Values as the ORM's driver binds them: a date as its epoch milliseconds.
      return ready.all(params.map((value) => (value instanceof Date ? value.valueOf() : value))) as T[];
    } catch (error) {
      throw convert(error as Error);
    } finally {
      await knex.client.releaseConnection(connection);
    }
  };
}

function ormOptions(
  config: Pick<Config, "databaseUrl" | "dataDir" | "database">,
  pooled: PooledClients,
): { dialect: Dialect; options: Options } {
  const dialect: Dialect = config.databaseUrl ? "postgresql" : "sqlite";
  const common: Options = {
    entities,
    discovery: { disableDynamicFileAccess: true, requireEntitiesArray: true },
    metadataProvider: ReflectMetadataProvider,
    extensions: [Migrator],
    migrations: {
      migrationsList: migrationsFor(dialect),
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      tableName: "schema_migrations",
      silent: true,
    },
    ensureDatabase: false,
    allowGlobalContext: false,
    forceUtcTimezone: true,
    debug: false,
  };
  if (dialect === "postgresql") {
    const { queryTimeoutMs, acquireTimeoutMs } = config.database;
    return {
      dialect,
      options: {
        ...common,
        driver: PostgreSqlDriverTellingSilence,
        clientUrl: config.databaseUrl,
        pool: {
          min: 0,
          max: 10,
          afterCreate(client: PooledClient, done: (error: Error | null, client: PooledClient) => void) {
            pooled.add(client);
            done(null, client);
          },
        },
        driverOptions: {
          // A request waits this long for a free connection, or for a new one to open, then fails "unavailable".
          acquireConnectionTimeout: acquireTimeoutMs,
          pool: { validate: (client: pg.Client) => pooled.usable(client) },
          connection: {
            // Kept by the client, so it holds when the network hangs: the server's statement_timeout would not.
            query_timeout: queryTimeoutMs || undefined,
            connectionTimeoutMillis: acquireTimeoutMs,
            keepAlive: true,
            application_name: "access-subgraph",
          },
        },
      },
    };
  }
  return {
    dialect,
    options: {
      ...common,
      driver: EmbeddedDriver,
      dbName: sqlitePath(config),
      // One connection serves the ORM; the event log's writer has its own (`events/writer-thread.ts`), and the
      // two take turns at the file's write lock. The pool may replace the ORM's; each new one needs the settings.
      pool: {
        min: 1,
        max: 1,
        afterCreate(connection: SqliteConnection, done: (error: Error | null, connection: SqliteConnection) => void) {
          try {
            configureSqliteConnection(connection);
            done(null, connection);
          } catch (error) {
            done(error as Error, connection);
          }
        },
      },
    },
  };
}

/** Opens the configured database (SQLite by default, PostgreSQL when `DATABASE_URL` says so). */
export async function openDatabase(config: Pick<Config, "databaseUrl" | "dataDir" | "database">): Promise<Database> {
  const pooled = new PooledClients();
  const { dialect, options } = ormOptions(config, pooled);
  if (dialect === "sqlite") {
    // SQLite creates the WAL and shared-memory files with the database file's mode: 0600 for all three.
    const file = sqlitePath(config);
    ensurePrivateFile(file);
    for (const suffix of ["-wal", "-shm", "-journal"]) restrictMode(file + suffix);
  }
  const orm = await MikroORM.init(options);
  const knex = (orm.em as SqlEntityManager).getKnex();
  const listeners: ((sql: string) => void)[] = [];
  const statementSent = (sql: string) => {
    for (const listener of listeners) listener(sql);
  };
  knex.on("query", (query: { sql: string }) => statementSent(query.sql));
  if (dialect === "postgresql") {
    knex.on("query-error", (error: unknown, query: { __knexUid?: string }) => {
      if (isDatabaseUnavailable(error)) pooled.abandon(query.__knexUid);
    });
  }
  const convert = (error: Error) => orm.em.getDriver().convertException(error);
  const execute: RunStatement =
    dialect === "postgresql" ? pooledStatements(knex, pooled, convert, statementSent) : embeddedStatements(knex, convert, statementSent);
  return {
    orm,
    dialect,
    knex,
    onStatement(listener) {
      listeners.push(listener);
    },
    execute,
    async migrate() {
      return (await orm.getMigrator().up()).map((migration) => migration.name);
    },
    async pendingMigrations() {
      return (await orm.getMigrator().getPendingMigrations()).map((migration) => migration.name);
    },
    async exclusively(work) {
      if (dialect !== "postgresql") return work();
      // Only the connecting is bounded: waiting for the lock is waiting for another instance's turn.
      const client = new pg.Client({
        connectionString: config.databaseUrl,
        application_name: "access-subgraph start",
        connectionTimeoutMillis: config.database.acquireTimeoutMs,
      });
      await client.connect();
      try {
        await client.query("select pg_advisory_lock($1)", [START_LOCK_KEY]);
        return await work();
      } finally {
        // Ending the session releases its advisory lock, whatever `work` did.
        await client.end().catch(() => {});
      }
    },
    async ping() {
      // Bounds the wait for a connection too. A statement left unanswered is ended by its own timeout.
      let timer: NodeJS.Timeout | undefined;
      const { readyCheckTimeoutMs } = config.database;
      const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), readyCheckTimeoutMs)));
      const answered = knex.raw("select 1").then(
        () => true,
        () => false,
      );
      try {
        return await Promise.race([answered, late]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => orm.close(true),
  };
}
