import path from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../config.js";
import { backupDatabase, markRestored, restoreDatabase, type RestoreOutcome } from "../db/restore.js";
import { MAX_EPOCH_NOTE_LENGTH } from "../events/epoch-store.js";
import { createLogger } from "../logger.js";
import { UsageError } from "./provisioning-commands.js";

export const BACKUP_USAGE = `Backup and restore (run with the service's configuration: DATA_DIR or DATABASE_URL; see docs/backup-and-restore.md):
  backup <file>
      Embedded database: writes a consistent copy to <file> (which must not exist) while the service runs.
      On PostgreSQL it refuses: use pg_basebackup with WAL archiving, or pg_dump.
  restore <backup file>
      Embedded database, service stopped: replaces the database with the backup (the replaced one is kept beside
      it) and starts a new epoch of the event log, so that subscribers beyond the backup are told (CURSOR_RESTORED).
      On PostgreSQL it refuses: recover with PostgreSQL's tools, then run events mark-restored.
  events mark-restored [--note <text>]
      After a point-in-time recovery or pg_restore (or a database file put back by hand), every instance stopped:
      starts a new epoch of the event log at the recovered heads. Run it before the service starts.`;

/** The audit of these commands: JSON log lines on stderr, as the service logs. */
const auditLog = () => createLogger("info", process.stderr);

function printOutcome(outcome: RestoreOutcome): void {
  const { epoch } = outcome;
  const lines = [
    `Epoch:       ${epoch.id} (number ${epoch.ordinal}), forked off ${epoch.parentId}`,
    `Forked at:   the heads of ${epoch.accounts} account(s) with events (${epoch.eventsThrough} events numbered in all)`,
  ];
  if (outcome.migrations.length > 0) lines.push(`Migrated:    ${outcome.migrations.join(", ")}`);
  if (outcome.keptAs) lines.push(`Replaced:    the database it replaced is kept as ${outcome.keptAs}`);
  console.log(lines.join("\n"));
}

/** The one file argument of `backup` and `restore`, resolved against the working directory. */
function fileArgument(command: string, args: string[]): string {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true, strict: true });
  if (positionals.length !== 1 || positionals[0] === "") throw new UsageError(`${command} needs exactly one file`);
  return path.resolve(positionals[0]!);
}

/** `backup <file>`. */
export async function backupCommand(args: string[]): Promise<void> {
  const target = fileArgument("backup", args);
  const { bytes } = backupDatabase(loadConfig(), target, auditLog());
  console.log(`Backed up to ${target} (${bytes} bytes)`);
}

/** `restore <backup file>`. */
export async function restoreCommand(args: string[]): Promise<void> {
  const backup = fileArgument("restore", args);
  printOutcome(await restoreDatabase(loadConfig(), backup, auditLog()));
}

/** `events mark-restored [--note <text>]`. */
export async function eventsCommand(args: string[]): Promise<void> {
  const [subcommand, ...rest] = args;
  if (subcommand !== "mark-restored") throw new UsageError(`unknown events command ${subcommand ?? "(none)"}`);
  const { values } = parseArgs({ args: rest, options: { note: { type: "string" } }, strict: true });
  if (values.note !== undefined && values.note.length > MAX_EPOCH_NOTE_LENGTH) {
    throw new UsageError(`--note takes at most ${MAX_EPOCH_NOTE_LENGTH} characters`);
  }
  printOutcome(await markRestored(loadConfig(), values.note ?? null, auditLog()));
}
