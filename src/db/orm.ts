import { MikroORM, ReflectMetadataProvider, type Options } from "@mikro-orm/core";
import { LibSqlDriver } from "@mikro-orm/libsql";
import { Migrator } from "@mikro-orm/migrations";
import { PostgreSqlDriver } from "@mikro-orm/postgresql";
import type { Knex, SqlEntityManager } from "@mikro-orm/knex";
import type LibSql from "libsql";
import path from "node:path";
import pg from "pg";
import type { Config } from "../config.js";
import { entities } from "./entities.js";
import { migrationsFor, type Dialect } from "./migrations/index.js";
import { ensurePrivateFile, restrictMode } from "../private-files.js";
import { configureSqliteConnection } from "./sqlite-connection.js";

/** An open database: the ORM, which dialect it speaks, and a hook on every SQL statement sent. */
export interface Database {
  orm: MikroORM;
  dialect: Dialect;
  /** The ORM's query builder and connection pool (the embedded event log writes on its connection). */
  knex: Knex;
  /** Registers a listener called once per SQL statement (used for metrics and statement-count tests). */
  onStatement(listener: (sql: string) => void): void;
  /** Reports a statement run outside the ORM (the event log's own) to the listeners. */
  statementRun(sql: string): void;
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
  /** True when the database answers a trivial query. */
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
      // One connection serves the ORM and the event log alike, so no two connections ever compete for the file's
      // write lock. The pool may replace it; each new one needs the settings.
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
export async function openDatabase(config: Pick<Config, "databaseUrl" | "dataDir">): Promise<Database> {
  const { dialect, options } = ormOptions(config);
  if (dialect === "sqlite") {
    // SQLite creates the WAL and shared-memory files with the database file's mode: 0600 for all three.
    const file = sqlitePath(config);
    ensurePrivateFile(file);
    for (const suffix of ["-wal", "-shm", "-journal"]) restrictMode(file + suffix);
  }
  const orm = await MikroORM.init(options);
  const knex = (orm.em as SqlEntityManager).getKnex();
  const listeners: ((sql: string) => void)[] = [];
  knex.on("query", (query: { sql: string }) => {
    for (const listener of listeners) listener(query.sql);
  });
  return {
    orm,
    dialect,
    knex,
    onStatement(listener) {
      listeners.push(listener);
    },
    statementRun(sql) {
      for (const listener of listeners) listener(sql);
    },
    async migrate() {
      return (await orm.getMigrator().up()).map((migration) => migration.name);
    },
    async pendingMigrations() {
      return (await orm.getMigrator().getPendingMigrations()).map((migration) => migration.name);
    },
    async exclusively(work) {
      if (dialect !== "postgresql") return work();
      const client = new pg.Client({ connectionString: config.databaseUrl, application_name: "access-subgraph start" });
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
