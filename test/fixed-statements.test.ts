import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadViewerRecord } from "../src/access/viewer.js";
import { isDatabaseUnavailable } from "../src/db/database-unavailable.js";
import { openDatabase, type Database } from "../src/db/orm.js";
import { onPostgres } from "./support/database.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

let server: TestServer;
let ownerId: string;

beforeAll(async () => {
  server = await startTestServer();
  ownerId = await server.userId("owner@example.com");
});
afterAll(async () => {
  await server?.close();
});

/** A database of the test's own on the server's, so that its pool holds only the connections the test makes. */
function ownDatabase(queryTimeoutMs = server.service.config.database.queryTimeoutMs): Promise<Database> {
  const { config } = server.service;
  return openDatabase({ ...config, database: { ...config.database, queryTimeoutMs } });
}

describe("fixed statements answer alike on both databases", () => {
  it("reads the viewer, and nothing for an unknown user", async () => {
    const record = await loadViewerRecord(server.service.db.execute, ownerId);
    expect(record).toMatchObject({ viewer: { userId: ownerId, email: "owner@example.com", isOwner: true }, accountSuspended: false });
    expect(record!.accessVersion).toEqual(expect.any(Number));
    expect(await loadViewerRecord(server.service.db.execute, "no-such-user")).toBeNull();
  });
});

describe.skipIf(onPostgres)("fixed statements on the SQLite connection", () => {
  it("prepares a fixed statement once per connection by its name, and a text built for one call each time", async () => {
    const db = await ownDatabase();
    try {
      // The connection the pool hands out (the pool holds one), its statements counted as the driver prepares them.
      const connection = (await db.knex.client.acquireConnection()) as { prepare(sql: string): unknown };
      const prepared: string[] = [];
      const prepare = connection.prepare.bind(connection);
      connection.prepare = (sql: string) => (prepared.push(sql), prepare(sql));
      await db.knex.client.releaseConnection(connection);
      for (let i = 0; i < 3; i++) expect((await loadViewerRecord(db.execute, ownerId))?.viewer.userId).toBe(ownerId);
      for (let i = 0; i < 2; i++) expect(await db.execute("select id from app_user where id = ?", [ownerId])).toEqual([{ id: ownerId }]);
      expect(prepared).toHaveLength(3);
      expect(prepared.filter((sql) => sql.startsWith("select id from app_user"))).toHaveLength(2);
    } finally {
      await db.close();
    }
  });
});

describe.skipIf(!onPostgres)("fixed statements on PostgreSQL's pooled connections", () => {
  it("prepares a fixed statement once per connection by its name, and sends a text built for one call unprepared", async () => {
    const db = await ownDatabase();
    try {
      for (let i = 0; i < 3; i++) expect((await loadViewerRecord(db.execute, ownerId))?.viewer.userId).toBe(ownerId);
      expect(await db.execute("select id from app_user where id = ?", [ownerId])).toEqual([{ id: ownerId }]);
      // One connection served every statement, one after the other: its prepared statements are the fixed ones.
      const prepared = await db.execute<{ name: string }>("select name from pg_prepared_statements order by name", []);
      expect(prepared).toEqual([{ name: "viewer_by_id" }]);
    } finally {
      await db.close();
    }
  });

  it("reads on when a change of the schema changed what a prepared statement answers (a release migrating beside it)", async () => {
    const db = await ownDatabase();
    const admin = new pg.Client({ connectionString: server.service.config.databaseUrl! });
    await admin.connect();
    try {
      const before = await loadViewerRecord(db.execute, ownerId);
      // The access version's type is part of what the viewer's statement answers.
      await admin.query("alter table account alter column access_version type bigint");
      expect(await loadViewerRecord(db.execute, ownerId)).toEqual(before);
      await admin.query("alter table account alter column access_version type int");
      expect(await loadViewerRecord(db.execute, ownerId)).toEqual(before);
    } finally {
      await admin.query("alter table account alter column access_version type int").catch(() => {});
      await admin.end();
      await db.close();
    }
  });

  it("ends the connection of a statement left unanswered: the next statement runs at once on another", async () => {
    const db = await ownDatabase(500);
    const admin = new pg.Client({ connectionString: server.service.config.databaseUrl! });
    await admin.connect();
    try {
      await loadViewerRecord(db.execute, ownerId);
      // Another transaction holds the account table: the viewer's read waits for it, unanswered.
      await admin.query("begin");
      await admin.query("lock table account in access exclusive mode");
      const failure = await loadViewerRecord(db.execute, ownerId).catch((error: unknown) => error);
      expect(isDatabaseUnavailable(failure)).toBe(true);
      // Kept, the connection would still wait on the read before it, and this statement would time out behind it.
      expect(await db.execute("select 1 as one", [])).toEqual([{ one: 1 }]);
      await admin.query("rollback");
      expect((await loadViewerRecord(db.execute, ownerId))?.viewer.userId).toBe(ownerId);
    } finally {
      await admin.query("rollback").catch(() => {});
      await admin.end();
      await db.close();
    }
  });
});
