import "reflect-metadata";
import { ConfigError, loadConfig } from "./config.js";
import { openDatabase } from "./db/orm.js";

/**
 * `npm run migrate`: applies the pending migrations of this release and exits, for deploys that migrate before
 * rolling out (the instances then start with `MIGRATE_ON_START=false`). Takes its turn with instances starting on
 * the same database.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const db = await openDatabase(config);
  try {
    const applied = await db.exclusively(() => db.migrate());
    process.stdout.write(applied.length > 0 ? `Applied ${applied.join(", ")}\n` : "Nothing to migrate\n");
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
  process.stderr.write(`access-subgraph migrate failed: ${message}\n`);
  process.exit(1);
});
