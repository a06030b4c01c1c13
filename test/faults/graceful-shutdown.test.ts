import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { totpCodeAt } from "../../src/confirmation/totp.js";
import { CallbackEventsDocument, RegenerateCallbackSecretDocument } from "../generated/graphql.js";
import { BUILT_CLI, demoServerEnv, startBuiltServer, type BuiltServer } from "../support/built-server.js";
import { depositCallback, postCallbackOrFail, storedTrackingIds } from "../support/callbacks.js";
import { createTestDatabase, onPostgres } from "../support/database.js";
import { execute } from "../support/graphql-client.js";
import { DEMO_PASSWORD, DEMO_TOTP_SECRET } from "../support/test-server.js";
import { subscribe, wsClient } from "../support/ws-client.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function startBuilt(env: NodeJS.ProcessEnv): Promise<BuiltServer> {
  const server = await startBuiltServer(env, 60_000);
  cleanups.push(() => void (server.child.exitCode === null && server.child.kill("SIGKILL")));
  return server;
}


const SUBSCRIPTION = "subscription($after: String) { callbackEvents(after: $after) { cursor trackingId } }";
interface Pushed {
  callbackEvents: { cursor: string; trackingId: string };
}

describe("an instance stopped (SIGTERM) while callbacks stream in and a dashboard watches", () => {
  it("answers what it read (200 only once stored), ends the subscription with SHUTTING_DOWN, exits 0; the subscriber resumes on another instance and misses nothing", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "access-shutdown-"));
    const database = await createTestDatabase();
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }), () => database.drop());
    const env = { ...demoServerEnv(dataDir, database.databaseUrl), SHUTDOWN_TIMEOUT_MS: "9000" };
    const first = await startBuilt(env);
    const cli = async (...args: string[]) =>
      (await promisify(execFile)(process.execPath, [BUILT_CLI, ...args], { env: { PATH: process.env.PATH, ...env } })).stdout.trim().split("\n").at(-1)!;
    const token = await cli("token", "owner@example.com");
    const regenerated = await execute(
      first.url,
      RegenerateCallbackSecretDocument,
      { input: { confirmation: { password: DEMO_PASSWORD, otp: totpCodeAt(DEMO_TOTP_SECRET, Date.now()) } } },
      { token },
    );
    const secret = regenerated.data!.regenerateCallbackSecret.callbackSecret;

    // On PostgreSQL the other instance runs beside the first; SQLite is one process, so it starts once the first left.
    const second = onPostgres ? await startBuilt(env) : null;

    const total = 300;
    const bodies = Array.from({ length: total }, (_, index) => depositCallback(secret, { trackingId: `stop-${index}` }));
    const outcome: (number | "failed")[] = [];
    // The first callback is stored before the dashboard subscribes after it: nothing of the stream can precede it.
    outcome[0] = await postCallbackOrFail(first.url, bodies[0]);
    const history = await execute(first.url, CallbackEventsDocument, { first: 1 }, { token });
    const received: string[] = [history.data!.callbackEvents.edges[0]!.node.trackingId];
    let lastCursor: string | null = history.data!.callbackEvents.pageInfo.endCursor!;
    const watching = wsClient(first.url, { token });
    cleanups.push(() => watching.dispose());
    const watched = subscribe<Pushed>(watching, SUBSCRIPTION, { after: lastCursor });

    let next = 1;
    let answered = 0;
    let stoppedAt = 0;
    const exited = new Promise<number | null>((resolve) => first.child.once("exit", resolve));
    const senders = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < total) {
          const index = next++;
          outcome[index] = await postCallbackOrFail(first.url, bodies[index]);
          if (++answered === 100) {
            stoppedAt = Date.now();
            first.child.kill("SIGTERM");
          }
        }
      }),
    );
    // The subscriber takes what it gets until its subscription ends: a last result with the coded error, then complete.
    let ending;
    for (;;) {
      const result = await watched.next(30_000);
      if (result.errors) {
        ending = result.errors.map((error) => error.extensions?.code);
        break;
      }
      received.push(result.data!.callbackEvents.trackingId);
      lastCursor = result.data!.callbackEvents.cursor;
    }
    expect(ending).toEqual(["SHUTTING_DOWN"]);
    expect(await watched.ended).toBe("complete");
    await senders;
    expect(await exited).toBe(0);
    expect(stoppedAt).toBeGreaterThan(0);

    expect(outcome.every((status) => status === 200 || status === 503 || status === "failed")).toBe(true);
    const accepted = outcome.flatMap((status, index) => (status === 200 ? [`stop-${index}`] : []));
    expect(accepted.length).toBeGreaterThanOrEqual(100);
    expect(outcome.some((status) => status !== 200)).toBe(true);

    const other = second ?? (await startBuilt(env));
    const stored = () => storedTrackingIds(other.url, token);
    const afterStop = await stored();
    // Every 200 was stored, once.
    for (const trackingId of accepted) expect(afterStop.filter((id) => id === trackingId)).toHaveLength(1);
    expect(new Set(afterStop).size).toBe(afterStop.length);

    // The subscriber resumes on the other instance from its last cursor; the sender retries what got no 200.
    const resumed = wsClient(other.url, { token });
    cleanups.push(() => resumed.dispose());
    const continued = subscribe<Pushed>(resumed, SUBSCRIPTION, lastCursor ? { after: lastCursor } : {});
    for (let index = 0; index < total; index++) {
      if (outcome[index] !== 200) expect(await postCallbackOrFail(other.url, bodies[index])).toBe(200);
    }
    const everything = await stored();
    expect(everything).toHaveLength(total);
    while (received.length < total) received.push((await continued.next(30_000)).data!.callbackEvents.trackingId);
    expect(received).toEqual(everything);
    continued.dispose();
    expect(await other.stop()).toBe(0);
  }, 180_000);
});
