import { MikroORM, ReflectMetadataProvider, type Options } from "@mikro-orm/core";
import { LibSqlDriver } from "@mikro-orm/libsql";
import { Migrator } from "@mikro-orm/migrations";
import { PostgreSqlDriver } from "@mikro-orm/postgresql";
import type { Knex } from "@mikro-orm/knex";
import type LibSql from "libsql";
import path from "node:path";
import type { Config } from "../config.js";
import { entities } from "./entities.js";
import { migrationsFor, type Dialect } from "./migrations/index.js";
import { ensurePrivateFile, restrictMode } from "../private-files.js";
import { configureSqliteConnection } from "./sqlite-connection.js";

/** An open database: the ORM, which dialect it speaks, and a hook on every SQL statement sent. */
export interface Database {
  orm: MikroORM;
  dialect: Dialect;
  /** Registers a listener called once per SQL statement (used for metrics and statement-count tests). */
  onStatement(listener: (sql: string) => void): void;
  /** Reports a statement run on another connection to this database (the event log's writer) to the listeners. */
  statementRun(sql: string): void;
  /** Runs the pending migrations of this dialect (the schema never comes from anything else); names those run. */
  migrate(): Promise<string[]>;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

type SqliteConnection = Pick<LibSql.Database, "exec" | "prepare">;

/**
 * Makes the connection's transactions take the write lock when they begin. The ORM begins with a plain (deferred)
 * BEGIN: such a transaction that reads and then writes fails at once with SQLITE_BUSY_SNAPSHOT when another
 * connection (the event log's writer, the CLI) committed in between, while an IMMEDIATE one waits for the lock
 * (busy timeout) and then sees the latest data. The pool holds one connection, as the driver is synchronous. It
 * also keeps each statement it prepared, as the ORM prepares its statement again on every query.
 */
function beginImmediately(connection: SqliteConnection): void {
  const prepare = connection.prepare.bind(connection);
  const prepared = new Map<string, ReturnType<SqliteConnection["prepare"]>>();
  connection.prepare = ((sql: string) => {
    let statement = prepared.get(sql);
    if (!statement) {
      statement = prepare(/^begin;?$/i.test(sql.trim()) ? "begin immediate" : sql);
      // The driver runs each statement to its end before the next call, so one prepared statement per text serves
      // every query of that text (the service's queries are a bounded set; the cache starts over if it fills).
      if (prepared.size >= MAX_PREPARED) prepared.clear();
      prepared.set(sql, statement);
    }
    return statement;
  }) as typeof connection.prepare;
}

/** Prepared statements kept per embedded connection. */
const MAX_PREPARED = 500;

/** The SQLite file of the embedded default. */
export function sqlitePath(config: Pick<Config, "dataDir">): string {
  return path.join(config.dataDir, "access.sqlite");
}

function ormOptions(config: Pick<Config, "databaseUrl" | "dataDir">): { dialect: Dialect; options: Options } {
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
    return {
      dialect,
      options: { ...common, driver: PostgreSqlDriver, clientUrl: config.databaseUrl, pool: { min: 0, max: 10 } },
    };
  }
  return {
    dialect,
    options: {
      ...common,
      driver: LibSqlDriver,
      dbName: sqlitePath(config),
      // The pool replaces its connection every few seconds; each new one needs the settings and the shim.
      pool: {
        afterCreate(connection: SqliteConnection, done: (error: Error | null, connection: SqliteConnection) => void) {
          try {
            configureSqliteConnection(connection);
            beginImmediately(connection);
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
export async function openDatabase(config: Pick<Config, "databaseUrl" | "dataDir">): Promise<Database> {
  const { dialect, options } = ormOptions(config);
  if (dialect === "sqlite") {
    // SQLite creates the WAL and shared-memory files with the database file's mode: 0600 for all three.
    const file = sqlitePath(config);
    ensurePrivateFile(file);
    for (const suffix of ["-wal", "-shm", "-journal"]) restrictMode(file + suffix);
  }
  const orm = await MikroORM.init(options);
  const knex = (orm.em.getConnection() as unknown as { getKnex(): Knex }).getKnex();
  const listeners: ((sql: string) => void)[] = [];
  knex.on("query", (query: { sql: string }) => {
    for (const listener of listeners) listener(query.sql);
  });
  return {
    orm,
    dialect,
    onStatement(listener) {
      listeners.push(listener);
    },
    statementRun(sql) {
      for (const listener of listeners) listener(sql);
    },
    async migrate() {
      return (await orm.getMigrator().up()).map((migration) => migration.name);
    },
    async ping() {
      try {
        await knex.raw("select 1");
        return true;
      } catch {
        return false;
      }
    },
    close: () => orm.close(true),
  };
}
