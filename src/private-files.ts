import fs from "node:fs";
import path from "node:path";

/**
 * Files the service writes under its data directory hold keys and the embedded database: only the service's own
 * user may read them (0600, the directory 0700 when created). Modes are set on files that exist already too, so a
 * data directory made by hand or by an older build is brought in line at start.
 */
export function ensurePrivateFile(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // Opened only to create it: closing any descriptor of a file drops every POSIX lock this process holds on it,
  // so a database that another connection of this process has open is never opened here.
  try {
    fs.closeSync(fs.openSync(file, "wx", 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  restrictMode(file);
}

/** Sets 0600 on a file that exists; nothing when it does not. */
export function restrictMode(file: string): void {
  try {
    if ((fs.statSync(file).mode & 0o777) !== 0o600) fs.chmodSync(file, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}
