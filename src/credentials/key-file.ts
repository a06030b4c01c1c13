import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { restrictMode } from "../private-files.js";

/**
 * Reads a 32-byte key from `<dir>/<name>`, creating it with mode 0600 on first use (and setting 0600 on one found). Creation uses an exclusive
 * open, so two processes starting together end up with the same key.
 */
export function loadOrCreateKeyFile(dir: string, name: string): Buffer {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, name);
  try {
    fs.writeFileSync(file, randomBytes(32).toString("base64") + "\n", { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    restrictMode(file);
  }
  const key = Buffer.from(fs.readFileSync(file, "utf8").trim(), "base64");
  if (key.length !== 32) throw new Error(`${file} does not hold a base64 32-byte key`);
  return key;
}
