import type { SqlEntityManager } from "@mikro-orm/knex";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Worker } from "node:worker_threads";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Account } from "../src/access/account.entity.js";
import { User } from "../src/access/user.entity.js";
import { loadViewer } from "../src/access/viewer.js";
import { eventOf, parseCallback } from "../src/callbacks/callback-payload.js";
import { EventSubscription } from "../src/callbacks/event-subscription.js";
import { isDatabaseUnavailable } from "../src/db/database-unavailable.js";
import { SQLITE_BUSY_TIMEOUT_MS } from "../src/db/sqlite-connection.js";
import type { NewEvent } from "../src/events/event.js";
import { CallbackEvent } from "../src/events/event.entity.js";
import Database from "libsql";
import { sqlitePath } from "../src/db/orm.js";
import { SqlEventLog, type EventLog, type EventWriter } from "../src/events/event-log.js";
import { EVENTS_CHANNEL } from "../src/events/event-feed.js";
import { GroupCommit, MAX_BATCH } from "../src/events/group-commit.js";
import { PostgresEventWriter, WRITER_APPLICATION_NAME } from "../src/events/postgres-event-writer.js";
import { SqliteEventWriter } from "../src/events/sqlite-event-writer.js";
import { WRITER_THREAD_ENTRY, WriterThread } from "../src/events/writer-thread.js";
import { depositCallback, postCallback, regenerateCallbackSecret } from "./support/callbacks.js";
import { onPostgres } from "./support/database.js";
import { DEMO_WALLETS } from "./support/fixtures.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

let server: TestServer;
let secret: string;
let accountId: string;

beforeAll(async () => {
  server = await startTestServer();
  secret = await regenerateCallbackSecret(server);
  accountId = (await server.em().findOneOrFail(Account, { name: "Demo Merchant" })).id;
});
afterAll(async () => {
  await server?.close();
});

let counter = 0;
/** A verified callback as the ingress hands it to the log. */
function event(walletId: string = DEMO_WALLETS.ETH): NewEvent {
  counter += 1;
  const body = depositCallback(secret, { walletId, trackingId: `writer-${counter}`, transferId: `${900_000 + counter}` });
  return eventOf(parseCallback(body, JSON.stringify(body)), { accountId, currency: "ETH", payload: JSON.stringify(body), receivedAt: new Date() });
}

/**
 * A log of the test's own on the test database, its writer on the test's thread (the service runs the same writer
 * on a thread of its own), the statements it runs heard by `onStatement`.
 */
function ownLog(onStatement: (sql: string) => void = () => {}, options: { timeoutMs?: number; warn?: (message: string) => void } = {}): EventLog {
  const writer: EventWriter = onPostgres
    ? new PostgresEventWriter({
        databaseUrl: server.service.config.databaseUrl!,
        notifyChannel: "test_events",
        logger: { warn: (_fields, message) => options.warn?.(message) },
        onStatement,
        timeoutMs: options.timeoutMs,
      })
    : new SqliteEventWriter(sqlitePath(server.service.config), onStatement);
  return new SqlEventLog((sql, params) => server.service.db.execute(sql, params), writer);
}
/** The statement that opens a batch's transaction: SQLite's BEGIN; PostgreSQL's batch is one statement. */
const opensTransaction = (sql: string) => (onPostgres ? sql.startsWith("with retained as") : sql === "begin immediate");

const stored = (trackingId: string) => server.em().count(CallbackEvent, { trackingId });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the event log, through its queue", () => {
  it("numbers a batch's events in order and answers each duplicate in it as such", async () => {
    const first = event();
    // The same state signed again with a new time: another signed message, the same operation, transfer and statuses.
    const resend = { ...first, signedMessage: `${first.signedMessage}-resent`, signedAt: "1999999999" };
    const other = event();
    const results = await Promise.all([first, first, resend, other].map((input) => server.service.events.write(input)));
    expect(results[0]).toMatchObject({ stored: true });
    expect(results[1]).toEqual({ stored: false, resend: false });
    expect(results[2]).toEqual({ stored: false, resend: true });
    expect(results[3]).toEqual({ stored: true, accountId, sequence: (results[0] as { sequence: number }).sequence + 1 });
    expect(await stored(first.trackingId)).toBe(1);
  });

  it("fails a batch the database refuses as a whole, storing none of it, and stores the next one", async () => {
    const valid = event();
    // A wallet that does not exist breaks a foreign key: the batch it shares with the valid event fails.
    const broken = event("no-such-wallet");
    const results = await Promise.allSettled([valid, broken].map((input) => server.service.events.write(input)));
    expect(results.map((result) => result.status)).toEqual(["rejected", "rejected"]);
    expect(await stored(valid.trackingId)).toBe(0);

    await expect(server.service.events.write(valid)).resolves.toMatchObject({ stored: true });
    expect(await stored(valid.trackingId)).toBe(1);
  });
});

describe("reading the event log", () => {
  it("reads the same events as the ORM finds in the table, and narrows them by wallet, kind and status", async () => {
    const inputs = [event(), event(), event(DEMO_WALLETS.BTC)];
    await Promise.all(inputs.map((input) => server.service.events.write(input)));
    const [entities, { events }] = await Promise.all([
      server.em().find(CallbackEvent, { account: accountId }, { orderBy: { sequence: "asc" } }),
      server.service.log.after(accountId, 0, 1000),
    ]);
    expect(events.length).toBeGreaterThanOrEqual(3);
    // Every field a reader uses, with its type: the entities' and the rows' must not differ.
    const fields = (list: { id: string; sequence: number; wallet: { id: string }; receivedAt: Date }[]) =>
      list.map((e) => {
        const { id, sequence, wallet, receivedAt, kind, operationId, trackingId, transferId, transferStatus, amount, commission, fee, currency, txid, signedAt } =
          e as unknown as Record<string, unknown> & typeof e;
        return { id, sequence, wallet: wallet.id, kind, operationId, trackingId, transferId, transferStatus, amount, commission, fee, currency, txid, signedAt, receivedAt };
      });
    expect(fields(events)).toStrictEqual(fields(entities));
    const last = events.at(-1)!;
    expect(last.receivedAt).toBeInstanceOf(Date);
    expect(Math.abs(last.receivedAt.getTime() - Date.now())).toBeLessThan(60_000);
    expect(last.wallet.id).toBe(DEMO_WALLETS.BTC);
    expect((await server.service.log.after(accountId, last.sequence - 1, 10)).events).toHaveLength(1);
    expect((await server.service.log.after(accountId, events[0]!.sequence, 1)).events).toEqual([expect.objectContaining({ sequence: events[1]!.sequence })]);
    const btc = await server.service.log.after(accountId, 0, 1000, { walletIds: [DEMO_WALLETS.BTC], kinds: [last.kind], statuses: [last.transferStatus!] });
    expect(btc.events.map((e) => e.id)).toEqual(events.filter((e) => e.wallet.id === DEMO_WALLETS.BTC).map((e) => e.id));
    expect(await server.service.log.after(accountId, 0, 10, { walletIds: [] })).toEqual({ events: [], accessVersion: null, prunedThrough: null });
  });

  it("reads the account's access version with the events (none without events), and where a subscription starts", async () => {
    const version = async () =>
      Number((await server.em().getConnection().execute<{ access_version: number }[]>("select access_version from account where id = ?", [accountId]))[0]!.access_version);
    await server.service.events.write(event());
    const { log } = server.service;
    expect(await log.after(accountId, Number.MAX_SAFE_INTEGER, 10)).toEqual({ events: [], accessVersion: null, prunedThrough: null });
    const before = await version();
    expect((await log.after(accountId, 0, 1)).accessVersion).toBe(before);
    await server.em().getConnection().execute("update account set access_version = access_version + 1 where id = ?", [accountId]);
    expect((await log.after(accountId, 0, 1)).accessVersion).toBe(before + 1);
    const newest = (await log.after(accountId, 0, 10_000)).events.at(-1)!;
    expect(await log.head(accountId)).toEqual({ sequence: newest.sequence, accessVersion: before + 1, prunedThrough: 0 });
    expect(await log.heads([accountId, "no-such-account"])).toEqual(new Map([[accountId, newest.sequence]]));
  });
});

describe("a subscription started at the head", () => {
  it("reads nothing until there is news, then gets the next event, and no earlier one", async () => {
    const owner = await server.em().findOneOrFail(User, { email: "owner@example.com" });
    const viewer = (await loadViewer(server.service.db.execute, owner.id))!;
    const earlier = event();
    await server.service.events.write(earlier);
    const reads: string[] = [];
    server.service.db.onStatement((sql) => {
      if (/from callback_event where account_id/i.test(sql)) reads.push(sql);
    });
    const subscription = new EventSubscription({
      feed: server.service.feed,
      em: () => server.em(),
      viewer,
      filter: {},
      after: null,
      sendTimeoutMs: 60_000,
      reauthenticate: async () => viewer,
    });
    try {
      const next = subscription.next();
      await sleep(200);
      expect(reads).toEqual([]);
      const later = event();
      const stored = await server.service.events.write(later);
      if (stored.stored) server.service.feed.advance(accountId, stored.sequence);
      const { value } = await next;
      expect(value).toMatchObject({ trackingId: later.trackingId });
      expect(reads).toHaveLength(1);
    } finally {
      await subscription.return();
    }
  });
});

describe("the group commit queue", () => {
  /** Runs `use` with a queue in front of a log of the test's own, counting the transactions it opens. */
  async function withQueue(use: (queue: GroupCommit, transactions: () => number) => Promise<void>): Promise<void> {
    const statements: string[] = [];
    const log = ownLog((sql) => statements.push(sql));
    const queue = new GroupCommit(log);
    try {
      await use(queue, () => statements.filter(opensTransaction).length);
    } finally {
      await queue.drain();
      await log.close();
    }
  }

  it("appends what is written in one turn in one transaction, answering each writer with its own result", async () => {
    await withQueue(async (queue, transactions) => {
      const [a, b, c] = [event(), event(), event()];
      const answers = await Promise.all([queue.write(a), queue.write(b), queue.write(a), queue.write(c)]);
      expect(answers.map((result) => result.stored)).toEqual([true, true, false, true]);
      const sequences = answers.flatMap((result) => (result.stored ? [result.sequence] : []));
      expect(sequences).toEqual([sequences[0], sequences[0]! + 1, sequences[0]! + 2]);
      expect(transactions()).toBe(1);
      for (const input of [a, b, c]) expect(await stored(input.trackingId)).toBe(1);
    });
  });

  it("appends what is written while a batch commits in the next one, whole", async () => {
    await withQueue(async (queue, transactions) => {
      const first = queue.write(event());
      // Written after the first batch went out: they wait for it, then go together.
      await new Promise((resolve) => setImmediate(resolve));
      const rest = [event(), event(), event()].map((input) => queue.write(input));
      await Promise.all([first, ...rest]);
      expect(transactions()).toBe(2);
    });
  });

  it("holds at most MAX_BATCH events in one transaction and leaves the rest to the next", async () => {
    await withQueue(async (queue, transactions) => {
      const answers = await Promise.all(Array.from({ length: 600 }, () => queue.write(event())));
      expect(answers.filter((result) => result.stored)).toHaveLength(600);
      expect(MAX_BATCH).toBe(500);
      expect(transactions()).toBe(2);
    });
  });
});

describe.runIf(onPostgres)("the PostgreSQL event log", () => {
  it("lets two instances store the same callbacks at once: each stored once, the other answered duplicate, no gap", async () => {
    const reads = [0, 0];
    const logs = [0, 1].map((index) => ownLog((sql) => (reads[index]! += sql.includes("json_array_elements_text") ? 1 : 0)));
    try {
      for (let round = 0; round < 10; round++) {
        const batch = [event(), event(), event()];
        const [first, second] = await Promise.all(logs.map((log) => log.append(batch)));
        batch.forEach((_, index) => expect([first![index]!.stored, second![index]!.stored].sort()).toEqual([false, true]));
        for (const input of batch) expect(await stored(input.trackingId)).toBe(1);
      }
      // In each round the second write failed on a unique key, stored nothing, and its log read which keys were taken.
      expect(reads[0]! + reads[1]!).toBeGreaterThanOrEqual(10);
      const sequences = (await server.service.log.after(accountId, 0, 10_000)).events.map((e) => e.sequence);
      expect(sequences).toEqual(sequences.map((_, index) => sequences[0]! + index));
    } finally {
      await Promise.all(logs.map((log) => log.close()));
    }
  });

  it("names its connection, tells the logger when the database ends it, opens another, and closes it when closed", async () => {
    const admin = new pg.Client({ connectionString: server.service.config.databaseUrl! });
    await admin.connect();
    const writers = async () =>
      (await admin.query<{ pid: number }>("select pid from pg_stat_activity where application_name = $1 and datname = current_database()", [WRITER_APPLICATION_NAME]))
        .rows.map((row) => row.pid);
    const warnings: string[] = [];
    const before = await writers();
    const log = ownLog(() => {}, { warn: (message) => warnings.push(message) });
    try {
      await expect(log.append([event()])).resolves.toMatchObject([{ stored: true }]);
      const [mine] = (await writers()).filter((pid) => !before.includes(pid));
      await admin.query("select pg_terminate_backend($1)", [mine!]);
      for (let wait = 0; wait < 50 && warnings.length === 0; wait++) await sleep(20);
      expect(warnings).toEqual(["the event writer's connection failed; the next batch opens another"]);
      const input = event();
      await expect(log.append([input])).resolves.toMatchObject([{ stored: true }]);
      expect(await stored(input.trackingId)).toBe(1);
      expect((await writers()).filter((pid) => !before.includes(pid))).toHaveLength(1);
      await log.close();
      expect((await writers()).filter((pid) => !before.includes(pid))).toEqual([]);
    } finally {
      await log.close();
      await admin.end();
    }
  });

  it("writes on when a change of the schema changed what its prepared statement answers (a release migrating beside it)", async () => {
    const warnings: string[] = [];
    const log = ownLog(() => {}, { warn: (message) => warnings.push(message) });
    const admin = new pg.Client({ connectionString: server.service.config.databaseUrl! });
    await admin.connect();
    try {
      await expect(log.append([event()])).resolves.toMatchObject([{ stored: true }]);
      // The counter's type is part of what the write answers (each account's value before the batch).
      await admin.query("alter table event_sequence alter column value type bigint");
      const input = event();
      await expect(log.append([input])).resolves.toMatchObject([{ stored: true }]);
      expect(await stored(input.trackingId)).toBe(1);
      await admin.query("alter table event_sequence alter column value type int");
      const [first, second] = [event(), event()];
      await expect(log.append([first, second])).resolves.toMatchObject([{ stored: true }, { stored: true }]);
      const sequences = (await server.service.log.after(accountId, 0, 10_000)).events.map((e) => e.sequence);
      expect(sequences).toEqual(sequences.map((_, index) => sequences[0]! + index));
      expect(warnings).toEqual([]);
    } finally {
      await admin.query("alter table event_sequence alter column value type int").catch(() => {});
      await admin.end();
      await log.close();
    }
  });

  it("fails a batch the database does not answer in time, drops the connection, and stores the retry once", async () => {
    const log = ownLog(() => {}, { timeoutMs: 500 });
    const admin = new pg.Client({ connectionString: server.service.config.databaseUrl! });
    await admin.connect();
    try {
      await expect(log.append([event()])).resolves.toMatchObject([{ stored: true }]);
      // Another transaction holds the account's counter: the writer's statement waits for it, unanswered.
      await admin.query("begin");
      await admin.query("select value from event_sequence where account_id = $1 for update", [accountId]);
      const input = event();
      const started = Date.now();
      await expect(log.append([input])).rejects.toThrow(/timeout/i);
      expect(Date.now() - started).toBeLessThan(5000);
      await admin.query("rollback");
      // The statement that timed out may still complete once the lock is gone; the sender's retry is stored once.
      const [again] = await log.append([input]);
      expect(again!.stored || !again!.resend).toBe(true);
      expect(await stored(input.trackingId)).toBe(1);
    } finally {
      await admin.query("rollback").catch(() => {});
      await admin.end();
      await log.close();
    }
  });
});

describe.skipIf(onPostgres)("the embedded database's connections", () => {
  const knex = () => server.service.db.knex;

  it("gives a connection that replaces another the same settings (regression: the busy timeout was lost)", async () => {
    const client = knex().client as { acquireConnection(): Promise<{ __created: number }>; releaseConnection(c: unknown): Promise<void> };
    const first = await client.acquireConnection();
    // The pool replaces a connection it finds too old when it is next acquired.
    first.__created = 0;
    await client.releaseConnection(first);
    const pragma = async (name: string) => Object.values(((await knex().raw(`pragma ${name}`)) as Record<string, unknown>[])[0]!)[0];
    expect(await pragma("busy_timeout")).toBe(SQLITE_BUSY_TIMEOUT_MS);
    expect(await pragma("journal_mode")).toBe("wal");
    expect(await pragma("synchronous")).toBe(2);
    expect(await pragma("foreign_keys")).toBe(1);
    const second = await client.acquireConnection();
    await client.releaseConnection(second);
    expect(second).not.toBe(first);
    // Events are stored while the ORM has its new connection.
    const input = event();
    await expect(server.service.events.write(input)).resolves.toMatchObject({ stored: true });
  });

  it("lets a transaction that reads and then writes commit while events are stored (regression: SQLITE_BUSY_SNAPSHOT)", async () => {
    const input = event();
    let writing: Promise<unknown> | undefined;
    await (server.em() as SqlEntityManager).transactional(async (tx) => {
      await tx.findOneOrFail(Account, { id: accountId });
      // The writer waits for the write lock this transaction holds: the event is stored once the transaction committed.
      writing = server.service.events.write(input);
      await sleep(300);
      await tx.execute("update account set access_version = access_version where id = ?", [accountId]);
    });
    await expect(writing).resolves.toMatchObject({ stored: true });
    expect(await stored(input.trackingId)).toBe(1);
  });
});

describe("the writer thread", () => {
  /** A writer thread of the test's own on the test database. */
  function ownThread(heard: { statements?: number[]; logs?: string[] } = {}): WriterThread {
    const log = (_fields: unknown, message: string) => heard.logs?.push(message);
    return new WriterThread(
      onPostgres
        ? { dialect: "postgresql", databaseUrl: server.service.config.databaseUrl!, notifyChannel: EVENTS_CHANNEL }
        : { dialect: "sqlite", filename: sqlitePath(server.service.config) },
      { logger: { warn: log, error: log }, onStatements: (count) => heard.statements?.push(count) },
    );
  }
  const threadOf = (thread: WriterThread) => (thread as unknown as { worker: Worker | null }).worker;

  it("runs the writer's TypeScript source under the test runner, so that what is tested is what is edited", () => {
    expect(fileURLToPath(WRITER_THREAD_ENTRY)).toBe(path.resolve("src/events/writer-thread-entry.ts"));
  });

  it("answers a batch with its results and its statement count, and a refused batch with the database's code", async () => {
    const statements: number[] = [];
    const thread = ownThread({ statements });
    try {
      const input = event();
      await expect(thread.append([input, input])).resolves.toEqual([expect.objectContaining({ stored: true }), { stored: false, resend: false }]);
      expect(await stored(input.trackingId)).toBe(1);
      expect(statements).toHaveLength(1);
      expect(statements[0]).toBeGreaterThan(0);

      const valid = event();
      const refused = (await thread.append([valid, event("no-such-wallet")]).catch((error: unknown) => error)) as Error & { code?: string };
      expect(refused).toBeInstanceOf(Error);
      expect(refused.code).toBe(onPostgres ? "23503" : "SQLITE_CONSTRAINT_FOREIGNKEY");
      expect(isDatabaseUnavailable(refused)).toBe(false);
      expect(await stored(valid.trackingId)).toBe(0);
      expect(statements).toHaveLength(2);
    } finally {
      await thread.close();
    }
  });

  it("starts another thread for the next batch when its thread stopped", async () => {
    const logs: string[] = [];
    const thread = ownThread({ logs });
    try {
      await thread.append([event()]);
      const first = threadOf(thread)!;
      await first.terminate();
      const input = event();
      await expect(thread.append([input])).resolves.toMatchObject([{ stored: true }]);
      expect(threadOf(thread)).not.toBe(first);
      expect(await stored(input.trackingId)).toBe(1);
    } finally {
      await thread.close();
    }
    expect(threadOf(thread)).toBeNull();
  });

  it.skipIf(onPostgres)("keeps the service's thread serving while a batch waits for the embedded database's write lock", async () => {
    // Another connection (another process's, say the CLI's) holds the file's write lock.
    const other = new Database(sqlitePath(server.service.config));
    other.exec(`pragma busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    other.exec("begin immediate");
    let answered = false;
    const body = depositCallback(secret, { trackingId: "while-the-file-is-locked" });
    const callback = postCallback(server.url, body).finally(() => (answered = true));
    try {
      // The batch waits for the lock in the writer's thread; waiting on the service's thread, it would stop it
      // (and this test, which shares it) until the busy timeout failed the batch.
      await sleep(300);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect(answered).toBe(false);
    } finally {
      other.exec("commit");
      other.close();
    }
    expect((await callback).status).toBe(200);
    expect(await stored("while-the-file-is-locked")).toBe(1);
  });

  it.runIf(onPostgres)("fails the batch in flight when its thread stops, and stores the sender's retry once", async () => {
    const thread = ownThread();
    const admin = new pg.Client({ connectionString: server.service.config.databaseUrl! });
    await admin.connect();
    try {
      await thread.append([event()]);
      // Another transaction holds the account's counter: the batch's statement waits for it in the thread.
      await admin.query("begin");
      await admin.query("select value from event_sequence where account_id = $1 for update", [accountId]);
      const input = event();
      const pending = thread.append([input]);
      for (let wait = 0; wait < 100; wait++) {
        const { rows } = await admin.query("select 1 from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'", [WRITER_APPLICATION_NAME]);
        if (rows.length > 0) break;
        await sleep(20);
      }
      await threadOf(thread)!.terminate();
      await expect(pending).rejects.toThrow(/thread stopped/);
      await admin.query("rollback");
      // The statement may still complete once the lock is gone: the retry is then a duplicate, stored once either way.
      const [again] = await thread.append([input]);
      expect(again!.stored || !again!.resend).toBe(true);
      expect(await stored(input.trackingId)).toBe(1);
    } finally {
      await admin.query("rollback").catch(() => {});
      await admin.end();
      await thread.close();
    }
  });
});
