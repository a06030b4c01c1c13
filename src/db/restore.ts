import fs from "node:fs";
import pg from "pg";
import type { Config } from "../config.js";
import { LISTENER_APPLICATION_NAME } from "../events/event-feed.js";
import { mintEpoch, type EpochCause, type MintedEpoch } from "../events/epoch-store.js";
import { WRITER_APPLICATION_NAME } from "../events/postgres-event-writer.js";
import type { Logger } from "../logger.js";
import { migrationsFor } from "./migrations/index.js";
import { openDatabase, sqlitePath, type Database } from "./orm.js";
import { DatabaseInUse, backupSqliteDatabase, lockSqliteDatabase, replaceSqliteDatabase, stageSqliteBackup } from "./sqlite-backup.js";

type DatabaseConfig = Pick<Config, "databaseUrl" | "dataDir" | "database">;

/** What `restore` and `events mark-restored` did. */
export interface RestoreOutcome {
  epoch: MintedEpoch;
  /** Migrations the restored database lacked, run before the epoch was minted. */
  migrations: string[];
  /** SQLite: where the database the backup replaced was kept (null: there was none). */
  keptAs?: string | null;
}

/** The refusal of a backup or restore command on a database it does not apply to. */
export class WrongDatabase extends Error {
  override name = "WrongDatabase";
}

/**
 * Refuses while an instance of the service has the database open: on SQLite, a process holding the file (see
 * `lockSqliteDatabase`); on PostgreSQL, a session of an instance's event listener or writer on the database (every
 * instance holds its listener while it runs).
 */
export async function requireNoInstance(config: DatabaseConfig): Promise<void> {
  if (!config.databaseUrl) {
    const file = sqlitePath(config);
    if (fs.existsSync(file)) lockSqliteDatabase(file).release();
    return;
  }
  const client = new pg.Client({ connectionString: config.databaseUrl, connectionTimeoutMillis: config.database.acquireTimeoutMs });
  await client.connect();
  try {
    const { rows } = await client.query<{ sessions: string }>(
      "select count(*) as sessions from pg_stat_activity where datname = current_database() and application_name in ($1, $2) and pid <> pg_backend_pid()",
      [LISTENER_APPLICATION_NAME, WRITER_APPLICATION_NAME],
    );
    if (Number(rows[0]?.sessions ?? 0) > 0) {
      throw new DatabaseInUse("an instance of the service is connected to the database: stop every instance first");
    }
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Brings a restored database to this release's schema and mints its new epoch. Refuses a database migrated by a
 * newer release, or one that is not this service's.
 */
async function migrateAndMint(db: Database, cause: EpochCause, note: string | null): Promise<Omit<RestoreOutcome, "keptAs">> {
  const known = new Set(migrationsFor(db.dialect).map((migration) => migration.name));
  let executed: string[];
  try {
    executed = (await db.orm.getMigrator().getExecutedMigrations()).map((migration) => migration.name);
  } catch {
    executed = [];
  }
  if (executed.length === 0) throw new WrongDatabase("the database holds no migration of this service: is it this service's database?");
  const unknown = executed.filter((name) => !known.has(name));
  if (unknown.length > 0) throw new WrongDatabase(`the database was migrated by a newer release (${unknown.join(", ")}): use that release's CLI`);
  const migrations = await db.exclusively(() => db.migrate());
  const epoch = await mintEpoch(db.orm.em.fork(), cause, note);
  return { epoch, migrations };
}

/** `backup <file>`: the embedded database only; PostgreSQL has its own tools. */
export function backupDatabase(config: DatabaseConfig, target: string, logger: Pick<Logger, "info">): { bytes: number } {
  if (config.databaseUrl) {
    throw new WrongDatabase(
      "backup copies the embedded database only: on PostgreSQL use pg_basebackup with WAL archiving (point-in-time recovery) or pg_dump; see docs/backup-and-restore.md",
    );
  }
  const source = sqlitePath(config);
  const result = backupSqliteDatabase(source, target);
  logger.info({ database: source, backup: target, bytes: result.bytes }, "backed up the embedded database");
  return result;
}

/**
 * `restore <backup file>`: replaces the embedded database with a backup (refused while the service runs) and mints
 * a new epoch forked at the backup's heads, so that cursors issued after the backup was taken are told apart. The
 * backup is prepared (checked, migrated, its epoch minted) on a copy beside the database, which then replaces the
 * database in one rename; the replaced database is kept beside it.
 */
export async function restoreDatabase(config: DatabaseConfig, backup: string, logger: Pick<Logger, "info">, now = new Date()): Promise<RestoreOutcome> {
  if (config.databaseUrl) {
    throw new WrongDatabase(
      "restore replaces the embedded database only: on PostgreSQL recover with your backup tools (point-in-time recovery, pg_restore), then run events mark-restored before starting the service; see docs/backup-and-restore.md",
    );
  }
  const database = sqlitePath(config);
  // Refused before the slow part, and again when the file is replaced.
  await requireNoInstance(config);
  const staged = stageSqliteBackup(backup, database);
  try {
    const db = await openDatabase({ ...config, dataDir: staged.dataDir });
    let prepared: Omit<RestoreOutcome, "keptAs">;
    try {
      prepared = await migrateAndMint(db, "restore", backup);
    } finally {
      await db.close();
    }
    const keptAs = replaceSqliteDatabase(staged.file, database, now);
    const outcome = { ...prepared, keptAs };
    logger.info(
      { database, backup, keptAs, epoch: outcome.epoch, migrations: outcome.migrations },
      "restored the embedded database from a backup; new event epoch minted",
    );
    return outcome;
  } finally {
    staged.discard();
  }
}

/**
 * `events mark-restored`: after the database was recovered by other means (PostgreSQL point-in-time recovery or
 * pg_restore; a SQLite file put back by hand), with every instance stopped, mints a new epoch forked at the
 * recovered heads (migrating the database first when it is from an earlier release).
 */
export async function markRestored(config: DatabaseConfig, note: string | null, logger: Pick<Logger, "info">): Promise<RestoreOutcome> {
  if (!config.databaseUrl && !fs.existsSync(sqlitePath(config))) {
    throw new WrongDatabase(`no database at ${sqlitePath(config)}: set DATA_DIR (or DATABASE_URL) as the service has it`);
  }
  await requireNoInstance(config);
  const db = await openDatabase(config);
  try {
    const outcome = await migrateAndMint(db, "mark-restored", note);
    logger.info({ dialect: db.dialect, note, epoch: outcome.epoch, migrations: outcome.migrations }, "marked the database restored; new event epoch minted");
    return outcome;
  } finally {
    await db.close();
  }
}
