import type { Knex } from "@mikro-orm/knex";
import type { SqlEntityManager } from "@mikro-orm/knex";
import type { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Account } from "../src/access/account.entity.js";
import { CallbackEvent } from "../src/callbacks/callback-event.entity.js";
import { parseCallback } from "../src/callbacks/callback-payload.js";
import { readEvents, readEventsAfter, type StoredEvent } from "../src/callbacks/event-store.js";
import { EventSubscription } from "../src/callbacks/event-subscription.js";
import { User } from "../src/access/user.entity.js";
import { loadViewer } from "../src/access/viewer.js";
import type { EventInput } from "../src/callbacks/event-batch.js";
import { EventBatchFailed, WriterThreadStore, type WriterTarget } from "../src/callbacks/writer-thread-store.js";
import { WRITER_APPLICATION_NAME, type WriterLogger } from "../src/callbacks/postgres-event-batch-store.js";
import { MAX_BATCH } from "../src/callbacks/event-writer.js";
import { sqlitePath } from "../src/db/orm.js";
import { createLogger } from "../src/logger.js";
import pg from "pg";
import { SQLITE_BUSY_TIMEOUT_MS } from "../src/db/sqlite-connection.js";
import { depositCallback, regenerateCallbackSecret } from "./support/callbacks.js";
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
/** A verified callback as the ingress hands it to the writer. */
function event(walletId: string = DEMO_WALLETS.ETH): EventInput {
  counter += 1;
  const body = depositCallback(secret, { trackingId: `writer-${counter}`, transferId: `${900_000 + counter}` });
  return { accountId, walletId, callback: parseCallback(body), payload: JSON.stringify(body), receivedAt: new Date() };
}

const stored = (trackingId: string) => server.em().count(CallbackEvent, { trackingId });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the event log writer", () => {
  it("numbers a batch's events in order and answers each duplicate in it as such", async () => {
    const first = event();
    const resend = { ...first, callback: { ...first.callback, signedFields: { ...first.callback.signedFields, time: "1999999999" } } };
    const other = event();
    const results = await Promise.all([first, first, resend, other].map((input) => server.service.runtime.events.write(input)));
    expect(results[0]).toMatchObject({ stored: true });
    expect(results[1]).toEqual({ stored: false, sameTransfer: true });
    expect(results[2]).toEqual({ stored: false, sameTransfer: true });
    expect(results[3]).toEqual({ stored: true, accountId, sequence: (results[0] as { sequence: number }).sequence + 1 });
    expect(await stored(first.callback.trackingId)).toBe(1);
  });

  it("fails a batch the database refuses as a whole, storing none of it, and stores the next one", async () => {
    const valid = event();
    // A wallet that does not exist breaks a foreign key: the batch it shares with the valid event fails.
    const broken = event("no-such-wallet");
    const results = await Promise.allSettled([valid, broken].map((input) => server.service.runtime.events.write(input)));
    expect(results.map((result) => result.status)).toEqual(["rejected", "rejected"]);
    expect(await stored(valid.callback.trackingId)).toBe(0);

    await expect(server.service.runtime.events.write(valid)).resolves.toMatchObject({ stored: true });
    expect(await stored(valid.callback.trackingId)).toBe(1);
  });
});

describe("reading the event log", () => {
  it("gives the live path's fixed statement the same events as the query builder", async () => {
    const inputs = [event(), event(), event()];
    await Promise.all(inputs.map((input) => server.service.runtime.events.write(input)));
    const [built, { events: fixed }] = await Promise.all([readEvents(server.em(), accountId, 0, 1000), readEventsAfter(server.em(), accountId, 0, 1000)]);
    expect(fixed.length).toBeGreaterThanOrEqual(3);
    // Every field a reader uses, with its type: the entities' and the rows' must not differ.
    const fields = (events: StoredEvent[]) =>
      events.map((e) => ({
        id: e.id, sequence: e.sequence, wallet: e.wallet.id, kind: e.kind, operationId: e.operationId, trackingId: e.trackingId,
        transferId: e.transferId, transferStatus: e.transferStatus, amount: e.amount, commission: e.commission, fee: e.fee,
        currency: e.currency, txid: e.txid, signedAt: e.signedAt, receivedAt: e.receivedAt,
      }));
    expect(fields(fixed)).toStrictEqual(fields(built));
    const last = fixed.at(-1)!;
    expect(last.receivedAt).toBeInstanceOf(Date);
    expect(Math.abs(last.receivedAt.getTime() - Date.now())).toBeLessThan(60_000);
    expect(last.wallet.id).toBe(DEMO_WALLETS.ETH);
    expect((await readEventsAfter(server.em(), accountId, last.sequence - 1, 10)).events).toHaveLength(1);
    expect((await readEventsAfter(server.em(), accountId, fixed[0]!.sequence, 1)).events).toEqual([expect.objectContaining({ sequence: fixed[1]!.sequence })]);
  });

  it("reads the account's access version with the events (none without events)", async () => {
    const version = async () =>
      Number((await server.em().getConnection().execute<{ access_version: number }[]>("select access_version from account where id = ?", [accountId]))[0]!.access_version);
    await server.service.runtime.events.write(event());
    expect(await readEventsAfter(server.em(), accountId, Number.MAX_SAFE_INTEGER, 10)).toEqual({ events: [], accessVersion: null });
    const before = await version();
    expect((await readEventsAfter(server.em(), accountId, 0, 1)).accessVersion).toBe(before);
    await server.em().getConnection().execute("update account set access_version = access_version + 1 where id = ?", [accountId]);
    expect((await readEventsAfter(server.em(), accountId, 0, 1)).accessVersion).toBe(before + 1);
  });
});

describe("a subscription started at the head", () => {
  it("reads nothing until there is news, then gets the next event, and no earlier one", async () => {
    const owner = await server.em().findOneOrFail(User, { email: "owner@example.com" });
    const viewer = (await loadViewer(server.em(), owner.id))!;
    const earlier = event();
    await server.service.runtime.events.write(earlier);
    const reads: string[] = [];
    server.service.db.onStatement((sql) => {
      if (/from callback_event where account_id/i.test(sql)) reads.push(sql);
    });
    const subscription = new EventSubscription({
      feed: server.service.runtime.feed,
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
      await server.service.runtime.events.write(later);
      const { value } = await next;
      expect(value).toMatchObject({ trackingId: later.callback.trackingId });
      expect(reads).toHaveLength(1);
    } finally {
      await subscription.return();
    }
  });
});

describe.runIf(onPostgres)("the PostgreSQL event writer", () => {
  it("lets two instances store the same callbacks at once: each stored once, the other answered duplicate, no gap", async () => {
    const { PostgresEventBatchStore } = await import("../src/callbacks/postgres-event-batch-store.js");
    const databaseUrl = server.service.runtime.config.databaseUrl!;
    const reads = [0, 0];
    const stores = [0, 1].map(
      (index) =>
        new PostgresEventBatchStore(databaseUrl, "test_events", (sql) => (reads[index]! += sql.includes("json_array_elements_text") ? 1 : 0), createLogger("warn")),
    );
    try {
      for (let round = 0; round < 10; round++) {
        const batch = [event(), event(), event()];
        const [first, second] = await Promise.all(stores.map((store) => store.store(batch)));
        batch.forEach((_, index) => expect([first![index]!.stored, second![index]!.stored].sort()).toEqual([false, true]));
        for (const input of batch) expect(await stored(input.callback.trackingId)).toBe(1);
      }
      // In each round the second write failed on a unique key, stored nothing, and its store read which keys were taken.
      expect(reads[0]! + reads[1]!).toBeGreaterThanOrEqual(10);
      const sequences = (await readEvents(server.em(), accountId, 0, 10_000)).map((e) => e.sequence);
      expect(sequences).toEqual(sequences.map((_, index) => sequences[0]! + index));
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
  it("opens another connection when the database ends the writer's, and the process keeps serving", async () => {
    const { PostgresEventBatchStore, WRITER_APPLICATION_NAME } = await import("../src/callbacks/postgres-event-batch-store.js");
    const databaseUrl = server.service.runtime.config.databaseUrl!;
    const store = new PostgresEventBatchStore(databaseUrl, "test_events", () => {}, createLogger("silent"));
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      await expect(store.store([event()])).resolves.toMatchObject([{ stored: true }]);
      const pid = (store as unknown as { client: { processID: number } }).client.processID;
      const { rows } = await admin.query("select application_name from pg_stat_activity where pid = $1", [pid]);
      expect(rows).toEqual([{ application_name: WRITER_APPLICATION_NAME }]);
      await admin.query("select pg_terminate_backend($1)", [pid]);
      // The batch right after may meet the ended connection (and fail, stored or not: the sender retries); the next is stored.
      const input = event();
      await store.store([input]).catch(() => []);
      await expect(store.store([input])).resolves.toEqual([expect.objectContaining({})]);
      expect(await stored(input.callback.trackingId)).toBe(1);
    } finally {
      await admin.end();
      await store.close();
    }
  });
  it("fails a batch the database does not answer in time, drops the connection, and stores the retry once", async () => {
    const { PostgresEventBatchStore } = await import("../src/callbacks/postgres-event-batch-store.js");
    const databaseUrl = server.service.runtime.config.databaseUrl!;
    const store = new PostgresEventBatchStore(databaseUrl, "test_events", () => {}, createLogger("silent"), 500);
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      await expect(store.store([event()])).resolves.toMatchObject([{ stored: true }]);
      // Another transaction holds the account's counter: the writer's statement waits for it, unanswered.
      await admin.query("begin");
      await admin.query("select value from event_sequence where account_id = $1 for update", [accountId]);
      const input = event();
      const started = Date.now();
      await expect(store.store([input])).rejects.toThrow(/timeout/i);
      expect(Date.now() - started).toBeLessThan(5000);
      await admin.query("rollback");
      // The statement that timed out may still complete once the lock is gone; the sender's retry is stored once.
      const [again] = await store.store([input]);
      expect(again!.stored || again!.sameTransfer).toBe(true);
      expect(await stored(input.callback.trackingId)).toBe(1);
    } finally {
      await admin.query("rollback").catch(() => {});
      await admin.end();
      await store.close();
    }
  });
});

describe.skipIf(onPostgres)("the embedded database's connections", () => {
  const knex = () => (server.service.db.orm.em.getConnection() as unknown as { getKnex(): Knex }).getKnex();

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
  });

  it("runs a statement it keeps prepared again after it failed, and sees what other connections committed", async () => {
    const insert = "insert into event_sequence (account_id, value) values (?, ?)";
    const read = "select value from event_sequence where account_id = ?";
    await knex().raw(insert, ["prepared-a", 1]);
    await expect(knex().raw(insert, ["prepared-a", 2])).rejects.toThrow(/UNIQUE/);
    await knex().raw(insert, ["prepared-b", 3]);
    expect(await knex().raw(read, ["prepared-b"])).toEqual([{ value: 3 }]);
    // Another connection (the event log's writer) commits; the kept statement reads the new value.
    const { SqliteEventLog } = await import("../src/callbacks/sqlite-event-log.js");
    const other = new SqliteEventLog(sqlitePath({ dataDir: server.dataDir }));
    (other as unknown as { connection: { exec(sql: string): void } }).connection.exec("update event_sequence set value = 4 where account_id = 'prepared-b'");
    other.close();
    expect(await knex().raw(read, ["prepared-b"])).toEqual([{ value: 4 }]);
  });

  it("lets a transaction that reads and then writes commit while events are stored (regression: SQLITE_BUSY_SNAPSHOT)", async () => {
    const input = event();
    let writing: Promise<unknown> | undefined;
    await (server.em() as SqlEntityManager).transactional(async (tx) => {
      await tx.findOneOrFail(Account, { id: accountId });
      // The writer commits on its own connection now, unless this transaction holds the write lock.
      writing = server.service.runtime.events.write(input);
      await sleep(300);
      await tx.execute("update account set access_version = access_version where id = ?", [accountId]);
    });
    await expect(writing).resolves.toMatchObject({ stored: true });
    expect(await stored(input.callback.trackingId)).toBe(1);
  });
});

describe("the event log's writer thread", () => {
  /** Where a writer thread of the test's own stores: the test database, on either dialect. */
  const target = (): WriterTarget =>
    onPostgres
      ? { dialect: "postgresql", databaseUrl: server.service.runtime.config.databaseUrl!, channel: "test_events" }
      : { dialect: "sqlite", filename: sqlitePath({ dataDir: server.dataDir }) };
  /** The statement that opens a transaction: SQLite's BEGIN; PostgreSQL's batch is one statement. */
  const opensTransaction = (sql: string) => (onPostgres ? sql.startsWith("with counts as") : sql === "begin immediate");

  /** Runs `use` with a writer thread of its own on the test database (`onStatement` hears its statements). */
  async function withStore(
    use: (store: WriterThreadStore) => Promise<void>,
    onStatement?: (sql: string) => void,
    logger?: WriterLogger,
  ): Promise<void> {
    const store = new WriterThreadStore(target(), onStatement, logger);
    try {
      await use(store);
    } finally {
      await store.close();
    }
  }

  it("stores batches that reach it during a transaction together, answering each batch with its own results", async () => {
    const statements: string[] = [];
    await withStore(async (store) => {
      const [a, b, c] = [event(), event(), event()];
      // Handed over in one turn, the three batches are in the thread before it starts a transaction.
      const answers = await Promise.all([store.store([a]), store.store([b, a]), store.store([c])]);
      expect(answers.map((results) => results.map((result) => result.stored))).toEqual([[true], [true, false], [true]]);
      const sequences = answers.flat().flatMap((result) => (result.stored ? [result.sequence] : []));
      expect(sequences).toEqual([sequences[0], sequences[0]! + 1, sequences[0]! + 2]);
      expect(statements.filter(opensTransaction)).toHaveLength(1);
      if (!onPostgres) expect(statements.filter((sql) => sql === "commit")).toHaveLength(1);
      for (const input of [a, b, c]) expect(await stored(input.callback.trackingId)).toBe(1);
    }, (sql) => statements.push(sql));
  });

  it("holds at most MAX_BATCH events in one transaction, taking whole batches, and leaves the rest to the next", async () => {
    const statements: string[] = [];
    await withStore(async (store) => {
      const batches = [200, 200, 200].map((size) => Array.from({ length: size }, () => event()));
      const answers = await Promise.all(batches.map((batch) => store.store(batch)));
      expect(answers.flat().filter((result) => result.stored)).toHaveLength(600);
      expect(MAX_BATCH).toBe(500);
      expect(statements.filter(opensTransaction)).toHaveLength(2);
    }, (sql) => statements.push(sql));
  });

  it("fails every batch of a transaction the database refuses, storing none of them", async () => {
    await withStore(async (store) => {
      const [valid, broken] = [event(), event("no-such-wallet")];
      const answers = await Promise.allSettled([store.store([valid]), store.store([broken])]);
      for (const answer of answers) expect(answer).toMatchObject({ status: "rejected", reason: expect.any(EventBatchFailed) });
      expect(await stored(valid.callback.trackingId)).toBe(0);
      await expect(store.store([valid])).resolves.toMatchObject([{ stored: true }]);
    });
  });

  it("fails the batch in flight when the thread dies, starts a new one for the next batch, and stores nothing twice", async () => {
    await withStore(async (store) => {
      const input = event();
      const inFlight = store.store([input]);
      // The thread dies with the batch in its hands (before or after its commit: the caller cannot know which).
      await (store as unknown as { worker: Worker }).worker.terminate();
      await expect(inFlight).rejects.toBeInstanceOf(EventBatchFailed);

      const [again] = await store.store([input]);
      expect(again!.stored || again!.sameTransfer).toBe(true);
      expect(await stored(input.callback.trackingId)).toBe(1);
    });
  });

  it.runIf(onPostgres)("tells the service's logger when the database ends its connection, and closes its connection when closed", async () => {
    const admin = new pg.Client({ connectionString: server.service.runtime.config.databaseUrl! });
    await admin.connect();
    const writers = async () =>
      (await admin.query<{ pid: number }>("select pid from pg_stat_activity where application_name = $1 and datname = current_database()", [WRITER_APPLICATION_NAME]))
        .rows;
    const warnings: string[] = [];
    try {
      const before = (await writers()).map((row) => row.pid);
      await withStore(
        async (store) => {
          await expect(store.store([event()])).resolves.toMatchObject([{ stored: true }]);
          const [mine] = (await writers()).filter((row) => !before.includes(row.pid));
          await admin.query("select pg_terminate_backend($1)", [mine!.pid]);
          for (let wait = 0; wait < 50 && warnings.length === 0; wait++) await sleep(20);
          expect(warnings).toEqual(["the event writer's connection failed; the next batch opens another"]);
          await expect(store.store([event()])).resolves.toMatchObject([{ stored: true }]);
          expect((await writers()).filter((row) => !before.includes(row.pid))).toHaveLength(1);
        },
        undefined,
        { warn: (_fields, message) => warnings.push(message) },
      );
      expect((await writers()).filter((row) => !before.includes(row.pid))).toEqual([]);
    } finally {
      await admin.end();
    }
  });
});
