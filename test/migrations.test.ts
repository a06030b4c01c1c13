import type { SqlEntityManager } from "@mikro-orm/knex";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { eventOf, parseCallback } from "../src/callbacks/callback-payload.js";
import { loadConfig } from "../src/config.js";
import { openDatabase, type Database } from "../src/db/orm.js";
import { idempotencyKeys } from "../src/events/batch-plan.js";
import { createTestDatabase, onPostgres } from "./support/database.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function freshDatabase(): Promise<Database> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "access-migrations-"));
  const database = await createTestDatabase();
  const db = await openDatabase({ dataDir, databaseUrl: database.databaseUrl, database: loadConfig({}).database });
  cleanups.push(async () => {
    await db.close();
    await database.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return db;
}

/** A database migrated up to `migration` that holds account "a1", with a session and a time to write rows with. */
async function databaseAt(migration: string): Promise<{ db: Database; em: SqlEntityManager; now: number | string }> {
  const db = await freshDatabase();
  await db.orm.getMigrator().up({ to: migration });
  const em = db.orm.em.fork() as SqlEntityManager;
  const now = db.dialect === "sqlite" ? Date.now() : new Date().toISOString();
  await em.execute("insert into account (id, name, created_at, access_version) values (?, ?, ?, 0)", ["a1", "A", now]);
  return { db, em, now };
}

/** Runs the migrations up to and including `migration`; names those run. */
async function migrateTo(db: Database, migration: string): Promise<string[]> {
  return (await db.orm.getMigrator().up({ to: migration })).map((run) => run.name);
}

/** Every table and index of a SQLite database as its normalised definition (triggers are the migrations' alone). */
async function sqliteDefinitions(db: Database): Promise<string[]> {
  const rows: { sql: string }[] = await db.orm.em
    .fork()
    .getConnection()
    .execute(
      "select sql from sqlite_master where sql is not null and type in ('table', 'index') and name not like 'sqlite_%' and name != 'schema_migrations'",
    );
  return rows.map((row) => row.sql.replace(/\s+/g, " ").replace(/;$/, "").trim()).sort();
}

describe("migrations", () => {
  it("run once, and a second run finds nothing to do", async () => {
    const db = await freshDatabase();
    expect((await db.migrate()).length).toBeGreaterThan(0);
    expect(await db.migrate()).toEqual([]);
  });

  it("give idempotency keys stored before 20261127030000 the prefix new keys have, so replays still match", async () => {
    const { db, em, now } = await databaseAt("Migration20261127020000");
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
    expect(await migrateTo(db, "Migration20261127030000")).toEqual(["Migration20261127030000"]);
    const [row] = await em.fork().execute<{ signed_key: string; transfer_key: string }[]>(
      "select signed_key, transfer_key from callback_event where id = ?",
      ["e1"],
    );
    expect(row).toEqual({ signed_key: `1785312345:${signed}`, transfer_key: `17618:${transfer}` });
  });

  it("keep audit entries stored before 20261127040000, their ids and the id sequence", async () => {
    const { db, em, now } = await databaseAt("Migration20261127030000");
    await em.execute("insert into app_user (id, account_id, email, kind, is_owner, created_at) values (?, ?, ?, ?, ?, ?)", [
      "u1",
      "a1",
      "owner@example.com",
      "HUMAN",
      true,
      now,
    ]);
    const insertEntry = "insert into audit_entry (account_id, actor_id, action, outcome, client_address, detail, created_at) values (?, ?, ?, ?, ?, ?, ?)";
    await em.execute(insertEntry, ["a1", "u1", "SET_API_USER_ACTIVE", "SUCCESS", "10.0.0.1", "API user activated", now]);
    await em.execute(insertEntry, ["a1", null, "ISSUE_API_TOKEN", "INVALID_CREDENTIALS", "10.0.0.2", "wrong secret", now]);
    await em.execute("delete from audit_entry where id = 2");

    expect(await migrateTo(db, "Migration20261127040000")).toEqual(["Migration20261127040000"]);
    await em.execute(insertEntry, ["a1", "u1", "SET_API_IP_WHITELIST", "SUCCESS", "10.0.0.3", null, now]);
    const rows = await em.fork().execute(
      "select id, actor_id, action, outcome, client_address, detail, target_user_id, wallet_id, previous_role, role from audit_entry order by id",
    );
    expect(rows).toEqual([
      { id: 1, actor_id: "u1", action: "SET_API_USER_ACTIVE", outcome: "SUCCESS", client_address: "10.0.0.1", detail: "API user activated", target_user_id: null, wallet_id: null, previous_role: null, role: null },
      { id: 3, actor_id: "u1", action: "SET_API_IP_WHITELIST", outcome: "SUCCESS", client_address: "10.0.0.3", detail: null, target_user_id: null, wallet_id: null, previous_role: null, role: null },
    ]);
  });

  it("key events stored before 20261201000000 by their signed message: redeliveries and resends are still recognised, re-cut copies flagged", async () => {
    const { db, em, now } = await databaseAt("Migration20261127040000");
    await em.execute(
      "insert into wallet (id, account_id, label, status, type, currency_iso, currency_alpha, currency_name, currency_exp, created_at) " +
        "values (?, ?, ?, 3, 1, 1002, ?, ?, 18, ?)",
      ["w1", "a1", "w", "ETH", "Ethereum", now],
    );
    // A genuine deposit callback, as stored by the release before (its keys as that release made them).
    const body = (amount: string, trackingId: string, transferId: string, time: string) => ({
      data: {
        type: "deposit",
        id: "11203",
        attributes: { tracking_id: trackingId, status: 3 },
        relationships: { wallet: { data: { type: "wallet", id: "w1" } }, transfer: { data: { type: "transfer", id: transferId } } },
      },
      included: [{ type: "transfer", id: transferId, attributes: { op_type: 1, status: 2, amount, amount_cleared: "1.4" } }],
      meta: { time, sign: "0".repeat(64) },
    });
    const genuine = body("1.5", "90045", "17618", "1785312345");
    // The same signed message re-cut: digits moved from the tracking id into the amount, a new transfer id.
    const recut = body("1.59004", "5", "99999", "1785312345");
    const insert =
      "insert into callback_event (id, account_id, sequence, wallet_id, kind, operation_id, tracking_id, transfer_id, transfer_status, " +
      "amount, signed_at, received_at, signed_key, transfer_key, payload) values (?, ?, ?, ?, ?, ?, ?, ?, 2, ?, ?, ?, ?, ?, ?)";
    for (const [id, sequence, callback] of [["e1", 1, genuine], ["e2", 2, recut]] as const) {
      const transfer = callback.included[0]!;
      await em.execute(insert, [
        id, "a1", sequence, "w1", "DEPOSIT", "11203", callback.data.attributes.tracking_id, transfer.id, transfer.attributes.amount,
        "1785312345", now, `1785312345:${id.repeat(32)}`, `${transfer.id}:${id.repeat(32)}`, JSON.stringify(callback),
      ]);
    }

    expect(await migrateTo(db, "Migration20261201000000")).toEqual(["Migration20261201000000"]);
    const rows = await em.fork().execute<Record<string, unknown>[]>(
      "select id, signed_key, resend_key, replay_of, operation_status, amount_cleared from callback_event order by sequence",
    );
    // The keys the ingress computes for a redelivery of the genuine callback, and for a resend with a new time.
    const keysOf = (callback: unknown) => idempotencyKeys(eventOf(parseCallback(callback, JSON.stringify(callback)), { accountId: "a1", currency: "ETH", payload: "", receivedAt: new Date() }));
    const redelivered = keysOf(genuine);
    expect(rows[0]).toEqual({ id: "e1", signed_key: redelivered.signedKey, resend_key: redelivered.resendKey, replay_of: null, operation_status: 3, amount_cleared: "1.4" });
    expect(keysOf(body("1.5", "90045", "17618", "1785399999")).resendKey).toBe(rows[0]!.resend_key);
    expect(keysOf(recut).signedKey).toBe(rows[0]!.signed_key);
    expect(rows[1]).toEqual({ id: "e2", signed_key: null, resend_key: null, replay_of: "e1", operation_status: 3, amount_cleared: "1.4" });
  });

  it("keep audit entries stored before 20261201030000 with their actor's e-mail, unchained, and append-only after it", async () => {
    const { db, em, now } = await databaseAt("Migration20261201020000");
    await em.execute("insert into app_user (id, account_id, email, kind, is_owner, created_at) values (?, ?, ?, ?, ?, ?)", [
      "u1",
      "a1",
      "owner@example.com",
      "HUMAN",
      true,
      now,
    ]);
    await em.execute(
      "insert into audit_entry (account_id, actor_id, action, outcome, client_address, detail, created_at, target_user_id) values (?, ?, ?, ?, ?, ?, ?, ?)",
      ["a1", "u1", "RESET_PASSWORD", "SUCCESS", "10.0.0.1", "reset", now, "u1"],
    );

    expect(await migrateTo(db, "Migration20261201030000")).toEqual(["Migration20261201030000"]);
    const rows = await em.fork().execute("select id, account_id, actor_id, actor_email, target_user_id, target_user_email, previous_hash, hash from audit_entry");
    expect(rows).toEqual([
      { id: 1, account_id: "a1", actor_id: "u1", actor_email: "owner@example.com", target_user_id: "u1", target_user_email: "owner@example.com", previous_hash: null, hash: null },
    ]);
    await expect(em.fork().execute("update audit_entry set detail = 'x'")).rejects.toThrow(/append-only/);
    await expect(em.fork().execute("delete from audit_entry")).rejects.toThrow(/append-only/);
    // The entry outlives its actor and its account.
    await em.fork().execute("delete from app_user where id = 'u1'");
    await em.fork().execute("delete from account where id = 'a1'");
    expect(await em.fork().execute("select actor_id, actor_email from audit_entry")).toEqual([{ actor_id: "u1", actor_email: "owner@example.com" }]);
  });

  it("keep events stored before 20261215000000, give the database its first epoch, and refuse deleting a wallet or account with events after it", async () => {
    const { db, em, now } = await databaseAt("Migration20261201030000");
    await em.execute(
      "insert into wallet (id, account_id, label, status, type, currency_iso, currency_alpha, currency_name, currency_exp, created_at) " +
        "values (?, ?, ?, 3, 1, 1002, ?, ?, 18, ?)",
      ["w1", "a1", "w", "ETH", "Ethereum", now],
    );
    await em.execute(
      "insert into callback_event (id, account_id, sequence, wallet_id, kind, operation_id, tracking_id, transfer_id, transfer_status, " +
        "amount, signed_at, received_at, signed_key, resend_key, payload, trace_context) values (?, ?, 1, ?, ?, ?, ?, ?, 2, ?, ?, ?, ?, ?, ?, ?)",
      ["e1", "a1", "w1", "DEPOSIT", "11203", "t", "17618", "0.3", "1785312345", now, "s:1", "r:1", "{}", "00-trace"],
    );
    await em.execute("insert into event_sequence (account_id, value) values (?, 1)", ["a1"]);

    expect((await migrateTo(db, "Migration20261215000000")).at(-1)).toBe("Migration20261215000000");
    const events = await em.fork().execute("select id, sequence, wallet_id, signed_key, resend_key, trace_context from callback_event");
    expect(events).toEqual([{ id: "e1", sequence: 1, wallet_id: "w1", signed_key: "s:1", resend_key: "r:1", trace_context: "00-trace" }]);
    const epochs = await em.fork().execute<{ id: string; parent_id: string | null; ordinal: number; cause: string }[]>(
      "select id, parent_id, ordinal, cause from event_epoch",
    );
    expect(epochs).toEqual([{ id: expect.stringMatching(/^[0-9a-f]{16}$/), parent_id: null, ordinal: 1, cause: "first" }]);
    await expect(em.fork().execute("delete from wallet where id = 'w1'")).rejects.toThrow(/foreign key/i);
    await expect(em.fork().execute("delete from account where id = 'a1'")).rejects.toThrow(/foreign key/i);
    expect(await em.fork().execute("select count(*) as events from callback_event")).toEqual([{ events: onPostgres ? "1" : 1 }]);
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
