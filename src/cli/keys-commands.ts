import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { rotateKeys, keyUsage } from "../credentials/key-rotation.js";
import { masterKeyId } from "../credentials/keys.js";
import { UsageError, serviceKeys, withServiceDatabase } from "./provisioning-commands.js";

export const KEYS_USAGE = `Master keys (run with the service's configuration: DATA_DIR or DATABASE_URL, MASTER_KEY, MASTER_KEYS_RETIRED):
  keys generate
      Prints a new random master key (base64, for MASTER_KEY) and its key id. Nothing is stored.
  keys status
      Counts the stored ciphertexts and hashes under each master key id.
  keys rotate [--batch-size <n, default 100>] [--pause-ms <ms, default 20>]
      While the service runs: moves every ciphertext and hash under MASTER_KEY, a batch per transaction; then
      says whether anything is left under a retired key (see docs/operations.md before removing one).`;

function positiveInteger(value: string | undefined, flag: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > max) throw new UsageError(`${flag} must be a whole number from 0 to ${max}`);
  return number;
}

/** `keys generate`, `keys status` and `keys rotate`. */
export async function keysCommand(args: string[]): Promise<void> {
  const [subcommand, ...rest] = args;
  if (subcommand === "generate") {
    parseArgs({ args: rest, options: {}, strict: true });
    const key = randomBytes(32);
    console.log(`key id: ${masterKeyId(key)}`);
    console.log(key.toString("base64"));
    return;
  }
  if (subcommand === "status") {
    parseArgs({ args: rest, options: {}, strict: true });
    await withServiceDatabase(async (db, config) => {
      const { keyring } = serviceKeys(config);
      console.log(`current key: ${keyring.current.id}; retired: ${keyring.retiredIds.join(", ") || "none"}`);
      for (const { name, byKey } of await keyUsage(db.orm.em.fork())) {
        const counts = Object.entries(byKey).map(([id, count]) => `${id === keyring.current.id ? `${id} (current)` : id}: ${count}`);
        console.log(`${name}: ${counts.join(", ") || "none"}`);
      }
    });
    return;
  }
  if (subcommand === "rotate") {
    const { values } = parseArgs({ args: rest, options: { "batch-size": { type: "string" }, "pause-ms": { type: "string" } }, strict: true });
    const batchSize = Math.max(1, positiveInteger(values["batch-size"], "--batch-size", 100, 10_000));
    const pauseMs = positiveInteger(values["pause-ms"], "--pause-ms", 20, 60_000);
    await withServiceDatabase(async (db, config) => {
      const keys = serviceKeys(config);
      console.log(`moving everything under key ${keys.keyring.current.id}`);
      const results = await rotateKeys(db.orm.em.fork(), keys, { batchSize, pauseMs });
      let left = 0;
      for (const result of results) {
        console.log(
          `${result.name}: ${result.moved} moved, ${result.current} already current, ` +
            `${result.changedMeanwhile} changed meanwhile, ${result.withoutKeyId} without key id, ${result.unreadable} unreadable`,
        );
        left += result.withoutKeyId + result.unreadable;
      }
      if (left === 0) {
        console.log(
          `Nothing is left under another key. Retired keys (${keys.keyring.retiredIds.join(", ") || "none"}) can leave ` +
            `MASTER_KEYS_RETIRED once the API tokens they signed have expired (API_TOKEN_LIFETIME_SECONDS after every instance runs with this MASTER_KEY).`,
        );
      } else {
        console.log(
          `${left} values are not under the current key: keep the retired keys. Hashes without a key id are replaced ` +
            `when their secret is next used or regenerated; unreadable values are under a key that is not in the keyring.`,
        );
        process.exitCode = 3;
      }
    });
    return;
  }
  throw new UsageError(`unknown keys command ${subcommand ?? "(none)"}`);
}
