import LibSql from "libsql";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { SQLITE_BUSY_TIMEOUT_MS } from "./sqlite-connection.js";

/** The first bytes of every SQLite database file. */
const SQLITE_HEADER = "SQLite format 3\0";

/** A refusal to touch the embedded database while a process (the service) has it open. */
export class DatabaseInUse extends Error {
  override name = "DatabaseInUse";
}

/** True when `file` starts like a SQLite database. */
export function isSqliteFile(file: string): boolean {
  const handle = fs.openSync(file, "r");
  try {
    const header = Buffer.alloc(SQLITE_HEADER.length);
    return fs.readSync(handle, header, 0, header.length, 0) === header.length && header.toString("latin1") === SQLITE_HEADER;
  } finally {
    fs.closeSync(handle);
  }
}

function fsyncPath(file: string): void {
  const handle = fs.openSync(file, "r");
  try {
    fs.fsyncSync(handle);
  } finally {
    fs.closeSync(handle);
  }
}

/** The answer of SQLite's own check of a database file ("ok", or what is wrong). */
function quickCheck(file: string): string {
  const db = new LibSql(file);
  try {
    const rows = db.prepare("pragma quick_check").all() as { quick_check: string }[];
    return rows.map((row) => row.quick_check).join("; ");
  } finally {
    db.close();
  }
}

/**
 * Writes a consistent copy of the embedded database to `target` while the service runs and writes: `VACUUM INTO`
 * reads one snapshot (in WAL mode a reader never waits for the writer, nor the writer for it) and writes a complete,
 * compact database file, with no WAL beside it. The copy is written under a temporary name beside `target`,
 * checked, flushed to disk and only then linked to `target`, so a file at `target` is always a whole backup. Refuses
 * to overwrite an existing file. The copy is readable by its owner only (it holds sealed secrets).
 */
export function backupSqliteDatabase(source: string, target: string): { bytes: number } {
  if (!fs.existsSync(source)) throw new Error(`no database at ${source}: set DATA_DIR as the service has it`);
  if (fs.existsSync(target)) throw new Error(`${target} exists: a backup never overwrites a file`);
  if (!fs.existsSync(path.dirname(target))) throw new Error(`no directory ${path.dirname(target)} to write the backup in`);
  const partial = path.join(path.dirname(target), `.${path.basename(target)}.partial-${randomBytes(6).toString("hex")}`);
  // VACUUM INTO writes into an empty file it finds, keeping the file's mode.
  fs.closeSync(fs.openSync(partial, "wx", 0o600));
  try {
    const db = new LibSql(source);
    try {
      db.exec(`pragma busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
      db.prepare("vacuum into ?").run(partial);
    } finally {
      db.close();
    }
    const check = quickCheck(partial);
    if (check !== "ok") throw new Error(`the copy does not check out (${check}); nothing written to ${target}`);
    fsyncPath(partial);
    fs.linkSync(partial, target);
    fsyncPath(path.dirname(target));
    return { bytes: fs.statSync(target).size };
  } finally {
    fs.rmSync(partial, { force: true });
  }
}

/**
 * Takes the embedded database for this process alone, or refuses with `DatabaseInUse` when another process has it
 * open: every connection in WAL mode holds a shared lock on the file from its first read until it closes, so an
 * exclusive lock is had only when no service (nor any other reader) has the database open. `release` folds the WAL
 * into the database file and lets go.
 */
export function lockSqliteDatabase(file: string): { release(): void } {
  const db = new LibSql(file);
  try {
    db.exec("pragma busy_timeout = 0");
    db.exec("pragma locking_mode = exclusive");
    db.exec("begin exclusive");
    db.exec("commit");
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === "SQLITE_BUSY") {
      throw new DatabaseInUse(`${file} is open in another process: stop the service first`);
    }
    throw error;
  }
  return {
    release() {
      try {
        db.exec("pragma wal_checkpoint(TRUNCATE)");
      } finally {
        db.close();
      }
    },
  };
}

/**
 * Prepares a copy of a backup for `restoreSqliteDatabase`: a private directory beside the database (same file
 * system, so the copy can be renamed into place) holding the backup as `access.sqlite`.
 */
export function stageSqliteBackup(backup: string, database: string): { dataDir: string; file: string; discard(): void } {
  if (!fs.existsSync(backup) || !fs.statSync(backup).isFile()) throw new Error(`no backup file at ${backup}`);
  if (!isSqliteFile(backup)) throw new Error(`${backup} is not a SQLite database`);
  fs.mkdirSync(path.dirname(database), { recursive: true, mode: 0o700 });
  const dataDir = fs.mkdtempSync(path.join(path.dirname(database), ".restore-"));
  const file = path.join(dataDir, path.basename(database));
  try {
    fs.copyFileSync(backup, file);
    fs.chmodSync(file, 0o600);
    const check = quickCheck(file);
    if (check !== "ok") throw new Error(`${backup} does not check out as a database (${check})`);
  } catch (error) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return { dataDir, file, discard: () => fs.rmSync(dataDir, { recursive: true, force: true }) };
}

/**
 * Puts a staged database in place of `database`: with the database taken for this process alone (refused while the
 * service runs), its WAL folded in and removed, the database it replaces is kept beside it as
 * `<name>.before-restore-<time>`, and the staged file (its WAL folded in) is renamed over it, so that
 * `database` names a whole database at every moment. Answers where the replaced one was kept (null: there was none).
 */
export function replaceSqliteDatabase(staged: string, database: string, now: Date): string | null {
  // The staged file must stand alone: its WAL folded in (connections that prepared it may linger until this
  // process ends, so the WAL is emptied rather than removed with the journal mode).
  const copy = new LibSql(staged);
  try {
    copy.exec(`pragma busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    const [checkpoint] = copy.prepare("pragma wal_checkpoint(TRUNCATE)").all() as { busy: number }[];
    if (checkpoint?.busy !== 0) throw new Error("the restored copy's WAL could not be folded into it; nothing was replaced");
  } finally {
    copy.close();
  }
  fsyncPath(staged);
  let keptAs: string | null = null;
  if (fs.existsSync(database)) {
    lockSqliteDatabase(database).release();
    // The WAL was folded into the database file: what is left beside it would be read as the new file's.
    for (const suffix of ["-wal", "-shm", "-journal"]) fs.rmSync(database + suffix, { force: true });
    keptAs = `${database}.before-restore-${now.toISOString().replace(/[:.]/g, "-")}`;
    fs.linkSync(database, keptAs);
  }
  fs.renameSync(staged, database);
  fsyncPath(path.dirname(database));
  return keptAs;
}
