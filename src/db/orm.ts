import { MikroORM, ReflectMetadataProvider, type Options } from "@mikro-orm/core";
import { LibSqlDriver } from "@mikro-orm/libsql";
import { Migrator } from "@mikro-orm/migrations";
import { PostgreSqlDriver } from "@mikro-orm/postgresql";
import type { Knex } from "@mikro-orm/knex";
import path from "node:path";
import type { Config } from "../config.js";
import { entities } from "./entities.js";
import { migrationsFor, type Dialect } from "./migrations/index.js";

/** An open database: the ORM, which dialect it speaks, and a hook on every SQL statement sent. */
export interface Database {
  orm: MikroORM;
  dialect: Dialect;
  /** Registers a listener called once per SQL statement (used for metrics and statement-count tests). */
  onStatement(listener: (sql: string) => void): void;
  /** Runs the pending migrations of this dialect (the schema never comes from anything else); names those run. */
  migrate(): Promise<string[]>;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

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
  return { dialect, options: { ...common, driver: LibSqlDriver, dbName: sqlitePath(config) } };
}

/** Opens the configured database (SQLite by default, PostgreSQL when `DATABASE_URL` says so). */
export async function openDatabase(config: Pick<Config, "databaseUrl" | "dataDir">): Promise<Database> {
  const { dialect, options } = ormOptions(config);
  const orm = await MikroORM.init(options);
  const knex = (orm.em.getConnection() as unknown as { getKnex(): Knex }).getKnex();
  if (dialect === "sqlite") {
    // One connection: the driver is synchronous, so more would not overlap, and a read transaction that later
    // writes could fail at once against another connection's commit. WAL keeps other processes' readers (the
    // CLI) from blocking; FULL sync keeps a committed transaction across a power loss.
    await knex.raw("pragma journal_mode = WAL");
    await knex.raw("pragma synchronous = FULL");
    await knex.raw("pragma busy_timeout = 5000");
  }
  return {
    orm,
    dialect,
    onStatement(listener) {
      knex.on("query", (query: { sql: string }) => listener(query.sql));
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
