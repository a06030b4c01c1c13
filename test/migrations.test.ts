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
