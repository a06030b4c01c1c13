import type Database from "libsql";

/** How long a connection waits for another one's write lock before failing with SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * Settings every connection to the embedded database needs (they belong to the connection, not the file, so each
 * new connection gets them): wait for another connection's write lock instead of failing at once (the busy
 * timeout comes first, so even switching to WAL waits); WAL, so readers (subscriptions, the CLI) never block the
 * writer and the writer never blocks them; FULL sync, so a committed transaction survives a power loss; foreign
 * keys enforced.
 */
export function configureSqliteConnection(connection: Pick<Database.Database, "exec">): void {
  connection.exec(`pragma busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  connection.exec("pragma journal_mode = WAL");
  connection.exec("pragma synchronous = FULL");
  connection.exec("pragma foreign_keys = ON");
}
