import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { BUILT_ENTRY, startBuiltServer, type BuiltServer } from "../support/built-server.js";
import { createTestDatabase, onPostgres } from "../support/database.js";
import { migrationsFor } from "../../src/db/migrations/index.js";

const MIGRATE_ENTRY = path.join(path.dirname(BUILT_ENTRY), "migrate.js");
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The settings several instances of one deployment share, on a fresh database. */
async function deployment(): Promise<{ env: NodeJS.ProcessEnv; databaseUrl: string | undefined; dataDir: () => string }> {
  const database = await createTestDatabase();
  const dirs: string[] = [];
  cleanups.push(async () => {
    await database.drop();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });
  const shared = fs.mkdtempSync(path.join(os.tmpdir(), "access-deploy-"));
  dirs.push(shared);
  return {
    databaseUrl: database.databaseUrl,
    env: {
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      MASTER_KEY: randomBytes(32).toString("base64"),
      JWT_SECRET: randomBytes(32).toString("hex"),
      DEMO_PASSWORD: "a-password-for-the-demo",
      ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
    },
    // On PostgreSQL each instance has a data directory of its own; on SQLite they share the database file's.
    dataDir: () => {
      if (!database.databaseUrl) return shared;
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "access-instance-"));
      dirs.push(dir);
      return dir;
    },
  };
}

async function start(env: NodeJS.ProcessEnv): Promise<BuiltServer> {
  const server = await startBuiltServer(env, 60_000);
  cleanups.push(async () => void (await server.stop()));
  return server;
}

async function rows<T>(databaseUrl: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

const migrate = (env: NodeJS.ProcessEnv) => promisify(execFile)(process.execPath, [MIGRATE_ENTRY], { env: { PATH: process.env.PATH, ...env } });

describe("starting several instances on one database", () => {
  it.runIf(onPostgres)("three started in the same second each become ready; every migration and the seed ran once", async () => {
    const { env, databaseUrl, dataDir } = await deployment();
    const servers = await Promise.all([1, 2, 3].map(() => start({ ...env, DATA_DIR: dataDir(), SEED_DEMO: "true" })));
    for (const server of servers) expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const applied = await rows<{ name: string; count: string }>(databaseUrl!, "select name, count(*) from schema_migrations group by name order by name");
    expect(applied).toEqual(migrationsFor("postgresql").map((migration) => ({ name: migration.name, count: "1" })));
    expect(await rows(databaseUrl!, "select name from account")).toEqual([{ name: "Demo Merchant" }]);
    expect(servers.filter((server) => server.stdout().includes("seeded the demo account"))).toHaveLength(1);
  }, 120_000);

  it("with MIGRATE_ON_START=false an instance refuses a database with pending migrations; `npm run migrate` applies them", async () => {
    const { env, dataDir } = await deployment();
    const instance = { ...env, DATA_DIR: dataDir(), SEED_DEMO: "false", MIGRATE_ON_START: "false" };
    await expect(startBuiltServer(instance, 60_000)).rejects.toThrow(/run `npm run migrate` first/);
    const first = await migrate(instance);
    expect(first.stdout).toMatch(/^Applied Migration/);
    expect((await migrate(instance)).stdout).toBe("Nothing to migrate\n");
    const server = await start(instance);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  }, 120_000);
});
