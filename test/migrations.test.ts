import type { SqlEntityManager } from "@mikro-orm/knex";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../src/db/orm.js";
import { createTestDatabase, onPostgres } from "./support/database.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function freshDatabase(): Promise<Database> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "access-migrations-"));
  const database = await createTestDatabase();
  const db = await openDatabase({ dataDir, databaseUrl: database.databaseUrl });
  cleanups.push(async () => {
    await db.close();
    await database.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return db;
}

/** Every table and index of a SQLite database as its normalised definition. */
async function sqliteDefinitions(db: Database): Promise<string[]> {
  const rows: { sql: string }[] = await db.orm.em
    .fork()
    .getConnection()
    .execute("select sql from sqlite_master where sql is not null and name not like 'sqlite_%' and name != 'schema_migrations'");
  return rows.map((row) => row.sql.replace(/\s+/g, " ").replace(/;$/, "").trim()).sort();
}

describe("migrations", () => {
  it("run once, and a second run finds nothing to do", async () => {
    const db = await freshDatabase();
    expect((await db.migrate()).length).toBeGreaterThan(0);
    expect(await db.migrate()).toEqual([]);
  });

  it("give idempotency keys stored before 20261127030000 the prefix new keys have, so replays still match", async () => {
    const db = await freshDatabase();
    await db.orm.getMigrator().up({ to: "Migration20261127020000" });
    const em = db.orm.em.fork() as SqlEntityManager;
    const now = db.dialect === "sqlite" ? Date.now() : new Date().toISOString();
    await em.execute("insert into account (id, name, created_at, access_version) values (?, ?, ?, 0)", ["a1", "A", now]);
    await em.execute(
      "insert into wallet (id, account_id, label, status, type, currency_iso, currency_alpha, currency_name, currency_exp, created_at) " +
        "values (?, ?, ?, 3, 1, 1002, ?, ?, 18, ?)",
      ["w1", "a1", "w", "ETH", "Ethereum", now],
    );
    const [signed, transfer] = ["a".repeat(64), "b".repeat(64)];
    await em.execute(
      "insert into callback_event (id, account_id, sequence, wallet_id, kind, operation_id, tracking_id, transfer_id, transfer_status, " +
        "amount, signed_at, received_at, signed_key, transfer_key, payload) values (?, ?, 1, ?, ?, ?, ?, ?, 2, ?, ?, ?, ?, ?, ?)",
      ["e1", "a1", "w1", "DEPOSIT", "1", "t", "17618", "0.3", "1785312345", now, signed, transfer, "{}"],
    );
    expect(await db.migrate()).toEqual(["Migration20261127030000"]);
    const [row] = await em.fork().execute<{ signed_key: string; transfer_key: string }[]>(
      "select signed_key, transfer_key from callback_event where id = ?",
      ["e1"],
    );
    expect(row).toEqual({ signed_key: `1785312345:${signed}`, transfer_key: `17618:${transfer}` });
  });

  it.runIf(onPostgres)("build exactly the schema the entities describe (PostgreSQL)", async () => {
    const db = await freshDatabase();
    await db.migrate();
    const diff = await db.orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false });
    expect(diff.trim()).toBe("");
  });

  it.runIf(!onPostgres)("build exactly the schema the entities describe (SQLite)", async () => {
    // The ORM's SQLite introspection misreads some check constraints, so compare the definitions themselves:
    // migrated schema against the schema generated from the entities.
    const migrated = await freshDatabase();
    await migrated.migrate();
    const generated = await freshDatabase();
    await generated.orm.getSchemaGenerator().createSchema();
    expect(await sqliteDefinitions(migrated)).toEqual(await sqliteDefinitions(generated));
  });
});
