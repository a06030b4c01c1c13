import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { Account } from "../../src/access/account.entity.js";
import { eventOf, parseCallback } from "../../src/callbacks/callback-payload.js";
import { isDatabaseUnavailable } from "../../src/db/database-unavailable.js";
import { EVENTS_CHANNEL } from "../../src/events/event-feed.js";
import { WalletsDocument } from "../generated/graphql.js";
import { depositCallback, postCallback, regenerateCallbackSecret } from "../support/callbacks.js";
import { createTestDatabase, onPostgres } from "../support/database.js";
import { codes, execute } from "../support/graphql-client.js";
import { startStallingProxy, throughProxy } from "../support/stalling-proxy.js";
import { startTestServer } from "../support/test-server.js";

/** Longer than anything may take to answer here (the timeouts below are a few seconds): still waiting, it hangs. */
const HUNG_MS = 20_000;

const disposals: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const dispose of disposals.splice(0).reverse()) await dispose().catch(() => {});
});

async function until(condition: () => Promise<boolean>, deadlineMs = HUNG_MS): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error("not before the deadline");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Settles as `promise` does, or rejects once {@link HUNG_MS} passed: a hang fails the test instead of stalling it. */
function answered<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${HUNG_MS} ms`)), HUNG_MS);
  });
  return Promise.race([promise, hung]).finally(() => clearTimeout(timer));
}

/**
 * A test server on a database of its own, reached through a stalling proxy, with `env`; and the test's own
 * connection to that database, around the proxy.
 */
async function serverBehindProxy(env: Record<string, string>) {
  const database = await createTestDatabase();
  disposals.push(() => database.drop());
  const target = new URL(database.databaseUrl!);
  const proxy = await startStallingProxy({ host: target.hostname, port: Number(target.port || 5432) });
  disposals.push(() => proxy.close());
  const server = await startTestServer({ DATABASE_URL: throughProxy(database.databaseUrl!, proxy), ...env });
  let closed = false;
  disposals.push(async () => (closed ? undefined : server.close()));
  // Runs first on a failure: the server then closes against a database that answers.
  disposals.push(() => proxy.resume());
  const direct = new pg.Client({ connectionString: database.databaseUrl });
  await direct.connect();
  disposals.push(() => direct.end());
  return {
    proxy,
    server,
    direct,
    readyz: async () => (await answered(fetch(`${server.url}/readyz`))).status,
    /** Closes the server, then waits until every connection it made through the proxy has ended. */
    async close() {
      closed = true;
      await answered(server.close());
      await until(async () => (await proxy.connections()) === 0);
    },
  };
}

describe("PostgreSQL stops answering while every connection stays open (a partition, a hung server)", () => {
  it.runIf(onPostgres)(
    "answers 503 and SERVICE_UNAVAILABLE instead of hanging, stores nothing it refused, and recovers without a restart",
    async () => {
      const { proxy, server, direct, readyz, close } = await serverBehindProxy({
        DB_QUERY_TIMEOUT_MS: "1500",
        DB_ACQUIRE_TIMEOUT_MS: "1000",
        READY_CHECK_TIMEOUT_MS: "1000",
      });
      /** The service's sessions on the database (the test's own excluded). */
      const sessions = async () =>
        (
          await direct.query<{ pid: number }>(
            "select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
          )
        ).rows.map((row) => row.pid);
      const stored = async (trackingId: string) =>
        Number((await direct.query("select count(*) as n from callback_event where tracking_id = $1", [trackingId])).rows[0].n);

      const token = await server.token("owner@example.com");
      const secret = await regenerateCallbackSecret(server);
      const accountId = (await server.em().findOneOrFail(Account, { name: "Demo Merchant" })).id;
      const wallets = () => answered(execute(server.url, WalletsDocument, {}, { token }));
      const callback = depositCallback(secret, { trackingId: "during-the-stall" });
      const written = depositCallback(secret, { trackingId: "written-during-the-stall" });
      const writtenEvent = eventOf(parseCallback(written, JSON.stringify(written)), {
        accountId,
        currency: "ETH",
        payload: JSON.stringify(written),
        receivedAt: new Date(),
      });

      expect(await readyz()).toBe(200);
      expect((await wallets()).errors).toBeUndefined();
      // The secret is now in the ingress's memory for a moment: the stalled callback may well reach the writer.
      expect((await answered(postCallback(server.url, depositCallback(secret)))).status).toBe(200);
      const sessionsBefore = await sessions();
      expect(sessionsBefore.length).toBeGreaterThan(0);

      await proxy.stall();

      // The ingress answers 503, whether it waited on its secret or on the writer, and stores nothing.
      const refused = await answered(postCallback(server.url, callback));
      expect(refused.status).toBe(503);
      expect(await stored("during-the-stall")).toBe(0);
      // The writer gives up on a statement, or a connection, that gets no answer instead of waiting for one.
      const writeFailure = await answered(server.service.events.write(writtenEvent).then(() => null, (error: unknown) => error));
      expect(isDatabaseUnavailable(writeFailure)).toBe(true);
      expect(await stored("written-during-the-stall")).toBe(0);

      await until(async () => (await readyz()) === 503);

      // More requests than the pool has connections: none waits for a hung one, each is answered with a code.
      const during = await Promise.all(Array.from({ length: 15 }, () => wallets()));
      for (const result of during) {
        expect(result.data ?? null).toBeNull();
        expect(codes(result)).toEqual(["SERVICE_UNAVAILABLE"]);
      }

      // The connection notifications arrive on does not answer either: it is given up for another.
      await until(async () => server.logs.some((line) => line.includes("event notifications' connection does not answer")));

      await proxy.resume();

      await until(async () => (await readyz()) === 200);
      await until(async () => (await wallets()).errors === undefined);
      // Each connection that was open when the database stopped answering had a statement go unanswered (the pool's
      // under the requests above, the writer's, the listener's): each was destroyed, none was kept for later.
      await until(async () => (await sessions()).every((pid) => !sessionsBefore.includes(pid)));
      // The platform's retry is stored once (if the stalled statement reached the database after all, the retry
      // finds it stored: 200 all the same).
      expect((await answered(postCallback(server.url, callback))).status).toBe(200);
      expect(await stored("during-the-stall")).toBe(1);
      await answered(server.service.events.write(writtenEvent));
      expect(await stored("written-during-the-stall")).toBe(1);
      // Notifications from other instances arrive again (a bare NOTIFY: no poll of the log can stand in for it).
      let sequence = 1_000_000;
      const news = server.service.feed.waitForNews(accountId, sequence);
      let heard = false;
      void news.news.then(() => (heard = true));
      await until(async () => {
        await direct.query("select pg_notify($1, $2)", [EVENTS_CHANNEL, `${accountId}:${++sequence}`]);
        return heard;
      });

      // Closing leaves nothing open: every connection the service made through the proxy ends.
      await close();
    },
    120_000,
  );

  it.runIf(onPostgres)("turns /readyz red within its own timeout, however long statements may take", async () => {
    // Statements may go unanswered for longer than the test waits: only the check's own bound can answer in time.
    const { proxy, readyz, close } = await serverBehindProxy({ DB_QUERY_TIMEOUT_MS: "600000", READY_CHECK_TIMEOUT_MS: "1000" });
    expect(await readyz()).toBe(200);
    await proxy.stall();
    await until(async () => (await readyz()) === 503);
    await proxy.resume();
    await until(async () => (await readyz()) === 200);
    await close();
  }, 120_000);
});
