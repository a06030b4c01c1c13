import LibSql from "libsql";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { totpCodeAt } from "../src/confirmation/totp.js";
import { CallbackEventsDocument, RegenerateCallbackSecretDocument } from "./generated/graphql.js";
import { BUILT_CLI, demoServerEnv, startBuiltServer, type BuiltServer } from "./support/built-server.js";
import { depositCallback, postCallback } from "./support/callbacks.js";
import { createTestDatabase, onPostgres } from "./support/database.js";
import { DEMO_WALLETS } from "./support/fixtures.js";
import { execute, type GraphQLErrorBody } from "./support/graphql-client.js";
import { DEMO_PASSWORD, DEMO_TOTP_SECRET } from "./support/test-server.js";
import { subscribe, wsClient, type QueuedSubscription } from "./support/ws-client.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const SUBSCRIPTION = "subscription($after: String) { callbackEvents(after: $after) { id cursor trackingId } }";
interface LiveEvent {
  id: string;
  cursor: string;
  trackingId: string;
}

/** What a cursor says once decoded (cursors are opaque to clients; the drill looks inside to check the epoch). */
const cursorText = (cursor: string) => Buffer.from(cursor, "base64url").toString("utf8");

/** Runs the built CLI with exactly `env`; never rejects. */
function cli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BUILT_CLI, ...args], { env }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The epoch id a `restore` or `events mark-restored` printed. */
function mintedEpoch(output: { code: number; stdout: string; stderr: string }): string {
  expect(output.code, output.stderr).toBe(0);
  const match = /^Epoch:\s+([0-9a-f]{16}) /m.exec(output.stdout);
  expect(match, output.stdout).not.toBeNull();
  return match![1]!;
}

async function startBuilt(env: NodeJS.ProcessEnv): Promise<BuiltServer> {
  const server = await startBuiltServer(env);
  cleanups.push(() => void (server.child.exitCode === null && server.child.kill("SIGKILL")));
  return server;
}

/** Every event of the history after `after`, oldest first, or the error that refused the first page. */
async function history(url: string, token: string, after: string | null = null): Promise<{ events: LiveEvent[]; error?: GraphQLErrorBody }> {
  const events: LiveEvent[] = [];
  for (;;) {
    const result = await execute(url, CallbackEventsDocument, { first: 100, after }, { token });
    if (result.errors) return { events, error: result.errors[0] };
    const page = result.data!.callbackEvents;
    events.push(...page.edges.map((edge) => ({ id: edge.node.id, cursor: edge.cursor, trackingId: edge.node.trackingId })));
    if (!page.pageInfo.hasNextPage) return { events };
    after = page.pageInfo.endCursor!;
  }
}

/** Subscribes over graphql-ws (the socket closed at the end). */
function live(url: string, token: string, after: string | null): QueuedSubscription<{ callbackEvents: LiveEvent }> {
  const client = wsClient(url, { token });
  cleanups.push(() => void client.dispose());
  return subscribe<{ callbackEvents: LiveEvent }>(client, SUBSCRIPTION, { after });
}

/** The next `count` events of a subscription. */
async function nextEvents(subscription: QueuedSubscription<{ callbackEvents: LiveEvent }>, count: number): Promise<LiveEvent[]> {
  const events: LiveEvent[] = [];
  while (events.length < count) {
    const result = await subscription.next(10_000);
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    events.push(result.data!.callbackEvents);
  }
  return events;
}

/** The coded error a subscription ended with: its last result, then complete (never a closed socket). */
async function endedWith(subscription: QueuedSubscription<{ callbackEvents: LiveEvent }>): Promise<GraphQLErrorBody> {
  const result = await subscription.next(10_000);
  expect(result.data ?? null).toBeNull();
  expect(result.errors).toHaveLength(1);
  expect(await subscription.ended).toBe("complete");
  return result.errors![0] as GraphQLErrorBody;
}

async function post(url: string, secret: string, trackingIds: string[]): Promise<void> {
  for (const trackingId of trackingIds) expect((await postCallback(url, depositCallback(secret, { trackingId }))).status).toBe(200);
}

/** How one database is backed up and restored, around the drill. */
interface Setup {
  env: NodeJS.ProcessEnv;
  /** Takes a backup while the service runs (the drill writes meanwhile). */
  backup(): Promise<void>;
  /** Checks that the restore step refuses while the service runs. */
  refusedWhileServing(): Promise<void>;
  /** With the service stopped: restores the backup; the environment to serve it with, and the new epoch. */
  restore(): Promise<{ env: NodeJS.ProcessEnv; epoch: string }>;
  /** With the service stopped: deletes a wallet that has events, then its account, in the restored database. */
  deleteWithEvents(env: NodeJS.ProcessEnv): Promise<{ wallet: unknown; account: unknown }>;
}

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Catches what a statement throws (undefined when it did not). */
async function refusal(statement: () => unknown): Promise<unknown> {
  try {
    await statement();
    return undefined;
  } catch (error) {
    return error;
  }
}

function sqliteSetup(): Setup {
  const dataDir = tempDir("access-drill-");
  const backupFile = path.join(tempDir("access-drill-backup-"), "access-backup.sqlite");
  const env = demoServerEnv(dataDir);
  return {
    env,
    async backup() {
      const result = await cli(env, "backup", backupFile);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(`Backed up to ${backupFile}`);
      expect(fs.statSync(backupFile).mode & 0o777).toBe(0o600);
      // A complete database file on its own: no WAL beside it, and SQLite finds nothing wrong with it.
      expect(fs.existsSync(`${backupFile}-wal`)).toBe(false);
      const copy = new LibSql(backupFile);
      expect(copy.prepare("pragma integrity_check").get()).toMatchObject({ integrity_check: "ok" });
      copy.close();
      // Never overwritten.
      const again = await cli(env, "backup", backupFile);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toContain("a backup never overwrites a file");
    },
    async refusedWhileServing() {
      const result = await cli(env, "restore", backupFile);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("stop the service first");
    },
    async restore() {
      const result = await cli(env, "restore", backupFile);
      expect(result.stderr).toContain('"msg":"restored the embedded database from a backup; new event epoch minted"');
      const kept = /kept as (\S+)/.exec(result.stdout)?.[1];
      expect(kept && fs.existsSync(kept)).toBeTruthy();
      return { env, epoch: mintedEpoch(result) };
    },
    async deleteWithEvents() {
      const db = new LibSql(path.join(dataDir, "access.sqlite"));
      db.exec("pragma foreign_keys = ON");
      try {
        return {
          wallet: await refusal(() => db.prepare("delete from wallet where id = ?").run(DEMO_WALLETS.ETH)),
          account: await refusal(() => db.prepare("delete from account where name = ?").run("Demo Merchant")),
        };
      } finally {
        db.close();
      }
    },
  };
}

async function postgresSetup(): Promise<Setup> {
  const dataDir = tempDir("access-drill-");
  const dumpFile = path.join(tempDir("access-drill-backup-"), "access.dump");
  const source = await createTestDatabase();
  cleanups.push(() => source.drop());
  const env = demoServerEnv(dataDir, source.databaseUrl);
  return {
    env,
    async backup() {
      const refused = await cli(env, "backup", path.join(dataDir, "nope.sqlite"));
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain("on PostgreSQL use pg_basebackup with WAL archiving (point-in-time recovery) or pg_dump");
      // A logical copy of one snapshot, taken while the service writes: what a point-in-time recovery to this
      // moment would give back.
      await new Promise<void>((resolve, reject) =>
        execFile("pg_dump", ["--format=custom", `--file=${dumpFile}`, source.databaseUrl!], (error, _stdout, stderr) =>
          error ? reject(new Error(stderr)) : resolve(),
        ),
      );
    },
    async refusedWhileServing() {
      const result = await cli(env, "events", "mark-restored");
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("stop every instance first");
      const restore = await cli(env, "restore", dumpFile);
      expect(restore.code).not.toBe(0);
      expect(restore.stderr).toContain("then run events mark-restored before starting the service");
    },
    async restore() {
      const target = await createTestDatabase();
      cleanups.push(() => target.drop());
      await new Promise<void>((resolve, reject) =>
        execFile("pg_restore", ["--no-owner", `--dbname=${target.databaseUrl}`, dumpFile], (error, _stdout, stderr) =>
          error ? reject(new Error(stderr)) : resolve(),
        ),
      );
      const restoredEnv = { ...env, DATABASE_URL: target.databaseUrl };
      const result = await cli(restoredEnv, "events", "mark-restored", "--note", "drill: pg_restore of a pg_dump");
      expect(result.stderr).toContain('"msg":"marked the database restored; new event epoch minted"');
      return { env: restoredEnv, epoch: mintedEpoch(result) };
    },
    async deleteWithEvents(restoredEnv) {
      const client = new pg.Client({ connectionString: restoredEnv.DATABASE_URL });
      await client.connect();
      try {
        return {
          wallet: await refusal(() => client.query("delete from wallet where id = $1", [DEMO_WALLETS.ETH])),
          account: await refusal(() => client.query("delete from account where name = $1", ["Demo Merchant"])),
        };
      } finally {
        await client.end();
      }
    },
  };
}

describe(`the restore drill (${onPostgres ? "PostgreSQL: pg_dump, pg_restore, events mark-restored" : "SQLite: backup, restore"})`, () => {
  it("backs up online, restores, and resuming across the restore is refused with CURSOR_RESTORED or continues without a gap", async () => {
    const setup = onPostgres ? await postgresSetup() : sqliteSetup();
    const first = await startBuilt(setup.env);
    const token = (await cli(setup.env, "token", "owner@example.com")).stdout.trim().split("\n").at(-1)!;
    const regenerated = await execute(
      first.url,
      RegenerateCallbackSecretDocument,
      { input: { confirmation: { password: DEMO_PASSWORD, otp: totpCodeAt(DEMO_TOTP_SECRET, Date.now()) } } },
      { token },
    );
    const secret = regenerated.data!.regenerateCallbackSecret.callbackSecret;

    // Before the backup: three events, and two subscribers reading from the first.
    await post(first.url, secret, ["a1", "a2", "a3"]);
    const before = (await history(first.url, token)).events;
    expect(before.map((event) => event.trackingId)).toEqual(["a1", "a2", "a3"]);
    // Cursors of the first epoch read as before epochs existed: a sequence number alone.
    expect(cursorText(before[2]!.cursor)).toBe("c1:3");
    const watching = live(first.url, token, before[0]!.cursor);
    const reader = live(first.url, token, before[0]!.cursor);
    expect((await nextEvents(watching, 2)).map((event) => event.trackingId)).toEqual(["a2", "a3"]);
    const readerCursor = (await nextEvents(reader, 2))[1]!.cursor;
    reader.dispose();

    // The backup, while callbacks keep arriving.
    let writing = true;
    const during: string[] = [];
    const writer = (async () => {
      for (let index = 0; writing || index < 2; index++) {
        await post(first.url, secret, [`b${index}`]);
        during.push(`b${index}`);
      }
    })();
    await setup.backup();
    writing = false;
    await writer;
    await post(first.url, secret, ["c1", "c2", "c3"]);
    const seen = await nextEvents(watching, during.length + 3);
    expect(seen.map((event) => event.trackingId)).toEqual([...during, "c1", "c2", "c3"]);
    const watcherCursor = seen.at(-1)!.cursor;
    const beforeRestore = (await history(first.url, token)).events;

    await setup.refusedWhileServing();
    expect(await first.stop()).toBe(0);
    const restored = await setup.restore();
    const second = await startBuilt(restored.env);

    // The backup is one consistent snapshot: a prefix of the history it was taken from, with what came before it.
    const kept = (await history(second.url, token)).events;
    const backupHead = kept.length;
    expect(backupHead).toBeGreaterThanOrEqual(3);
    expect(backupHead).toBeLessThan(beforeRestore.length - 2);
    expect(kept.map((event) => event.id)).toEqual(beforeRestore.slice(0, backupHead).map((event) => event.id));
    expect(cursorText(kept.at(-1)!.cursor)).toBe(`c1:${restored.epoch}:${backupHead}`);
    // New events take the numbers the lost ones had.
    await post(second.url, secret, ["d1", "d2"]);
    const resumeCursor = Buffer.from(`c1:${restored.epoch}:${backupHead}`).toString("base64url");

    // A subscriber beyond the backup is told, with the cursor to read again from; from there it gets exactly the
    // events stored after the restore.
    const told = await endedWith(live(second.url, token, watcherCursor));
    expect(told.extensions).toEqual({ code: "CURSOR_RESTORED", resumeCursor });
    expect(told.message).toContain("read again from resumeCursor");
    const reread = live(second.url, token, resumeCursor);
    expect((await nextEvents(reread, 2)).map((event) => event.trackingId)).toEqual(["d1", "d2"]);
    // The history says the same.
    const refusedPage = await history(second.url, token, watcherCursor);
    expect(refusedPage.error?.extensions).toEqual({ code: "CURSOR_RESTORED", resumeCursor });
    expect(refusedPage.events).toEqual([]);

    // A subscriber whose cursor (of the first epoch, as issued before epochs) is at or before the backup resumes
    // normally: every event after it, the new ones included, none twice and none missing.
    const afterReader = kept.slice(3).map((event) => event.id);
    const resumed = live(second.url, token, readerCursor);
    await post(second.url, secret, ["d3"]);
    const resumedEvents = await nextEvents(resumed, afterReader.length + 3);
    expect(resumedEvents.slice(0, afterReader.length).map((event) => event.id)).toEqual(afterReader);
    expect(resumedEvents.slice(afterReader.length).map((event) => event.trackingId)).toEqual(["d1", "d2", "d3"]);
    expect((await nextEvents(reread, 1))[0]!.trackingId).toBe("d3");
    expect((await history(second.url, token, readerCursor)).events.map((event) => event.id)).toEqual(resumedEvents.map((event) => event.id));
    // A cursor of the current epoch beyond the account's head comes from a history this database does not have.
    const beyond = Buffer.from(`c1:${restored.epoch}:999`).toString("base64url");
    expect((await history(second.url, token, beyond)).error?.extensions).toEqual({
      code: "CURSOR_RESTORED",
      resumeCursor: Buffer.from(`c1:${restored.epoch}:0`).toString("base64url"),
    });
    const secondEpochCursor = resumedEvents.at(-1)!.cursor;
    expect(await second.stop()).toBe(0);

    // The same backup restored again is another history: another epoch, whose database does not know the first
    // restore's epoch.
    const again = await setup.restore();
    expect(again.epoch).not.toBe(restored.epoch);
    const third = await startBuilt(again.env);
    const fromStart = Buffer.from(`c1:${again.epoch}:0`).toString("base64url");
    expect((await endedWith(live(third.url, token, secondEpochCursor))).extensions).toEqual({ code: "CURSOR_RESTORED", resumeCursor: fromStart });
    expect((await history(third.url, token, secondEpochCursor)).error?.extensions).toEqual({ code: "CURSOR_RESTORED", resumeCursor: fromStart });
    expect((await history(third.url, token, fromStart)).events.map((event) => event.id)).toEqual(kept.map((event) => event.id));
    expect((await history(third.url, token, readerCursor)).events.map((event) => event.id)).toEqual(kept.slice(3).map((event) => event.id));
    expect(await third.stop()).toBe(0);

    // Events are never deleted with their wallet or account: the database refuses.
    const deleted = await setup.deleteWithEvents(again.env);
    expect(String(deleted.wallet)).toMatch(/foreign key/i);
    expect(String(deleted.account)).toMatch(/foreign key/i);
  }, 180_000);
});
