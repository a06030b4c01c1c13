import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CallbackEventsDocument,
  OnCallbackEventDocument,
  WalletsDocument,
  type OnCallbackEventSubscription,
} from "./generated/graphql.js";
import { createTokenService } from "../src/auth/tokens.js";
import { systemClock } from "../src/clock.js";
import { loadConfig } from "../src/config.js";
import { BUILT_CLI, startBuiltServer, type BuiltServer } from "./support/built-server.js";
import { createTestDatabase } from "./support/database.js";
import { execute } from "./support/graphql-client.js";
import { subscribe, wsClient } from "./support/ws-client.js";

let server: BuiltServer;
let url: string;
let env: NodeJS.ProcessEnv;
let dataDir: string;
let callbackSecret: string;
let database: Awaited<ReturnType<typeof createTestDatabase>>;

/** Runs a CLI command against the same data directory and returns its last line of output. */
async function cliLastLine(...args: string[]): Promise<string> {
  const { stdout: out } = await promisify(execFile)(process.execPath, [BUILT_CLI, ...args], { env });
  return out.trim().split("\n").at(-1)!;
}

const tokenFor = (email: string) => cliLastLine("token", email);

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "access-built-"));
  database = await createTestDatabase();
  // A database file left readable by others (made by hand, or by an older build) is made private at start.
  if (!database.databaseUrl) fs.writeFileSync(path.join(dataDir, "access.sqlite"), "", { mode: 0o644 });
  env = {
    PATH: process.env.PATH,
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl, SEED_DEMO: "true" } : {}),
  };
  server = await startBuiltServer(env);
  url = server.url;
});
afterAll(async () => {
  if (server?.child.exitCode === null) server.child.kill("SIGKILL");
  await database?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("the built server (node dist/src/main.js)", () => {
  it("prints the generated demo credentials once, outside the JSON logs", () => {
    expect(server.stdout()).toContain('Demo account "Demo Merchant" created');
    expect(server.stdout()).toMatch(/Password: {6}\S{12,}/);
    expect(server.stdout()).toMatch(/otpauth:\/\/totp\/access-subgraph:owner%40example\.com\?.*secret=[A-Z2-7]+/);
  });

  it("keeps its keys and its embedded database (with its WAL and shared memory) in files only its user can read", () => {
    const files = fs.readdirSync(dataDir);
    expect(files).toEqual(
      expect.arrayContaining(["master.key", "jwt-dev.key", ...(database.databaseUrl ? [] : ["access.sqlite", "access.sqlite-wal", "access.sqlite-shm"])]),
    );
    for (const file of files) expect([file, fs.statSync(path.join(dataDir, file)).mode & 0o777]).toEqual([file, 0o600]);
  });

  it("serves three wallets to the Owner and one to the read-only viewer, with tokens from the CLI", async () => {
    const owner = await execute(url, WalletsDocument, {}, { token: await tokenFor("owner@example.com") });
    expect(owner.data!.wallets.edges.map((edge) => edge.node.currency.alpha)).toEqual(["ETH", "BTC", "USDT-ETH"]);
    const viewer = await execute(url, WalletsDocument, {}, { token: await tokenFor("viewer@example.com") });
    expect(viewer.data!.wallets.edges.map((edge) => edge.node.currency.alpha)).toEqual(["ETH"]);
  });

  it("confirms a secret regeneration with the printed password and the CLI's one-time code", async () => {
    const password = /Password: {6}(\S+)/.exec(server.stdout())![1]!;
    const otp = await cliLastLine("otp", "owner@example.com");
    expect(otp).toMatch(/^\d{6}$/);
    const result = await execute(
      url,
      "mutation($input: RegenerateCallbackSecretInput!) { regenerateCallbackSecret(input: $input) { callbackSecret } }",
      { input: { confirmation: { password, otp } } },
      { token: await tokenFor("owner@example.com") },
    );
    expect(result.errors).toBeUndefined();
    callbackSecret = (result.data as { regenerateCallbackSecret: { callbackSecret: string } }).regenerateCallbackSecret
      .callbackSecret;
    expect(callbackSecret).toMatch(/^acs_whsec_/);
    expect(server.stdout()).not.toContain(callbackSecret);
  });

  it("accepts the simulator's signed callbacks and pushes them to a subscriber", async () => {
    const send = (trackingId: string) =>
      cliLastLine("send-callback", "--secret", callbackSecret, "--url", `${url}/callbacks`, "--tracking-id", trackingId);
    expect(await send("sim-1")).toBe("HTTP 200");
    const token = await tokenFor("owner@example.com");
    const history = await execute(url, CallbackEventsDocument, {}, { token });
    const after = history.data!.callbackEvents.pageInfo.endCursor;
    expect(history.data!.callbackEvents.edges.map((edge) => edge.node.trackingId)).toEqual(["sim-1"]);

    const client = wsClient(url, { token });
    const subscription = subscribe<OnCallbackEventSubscription>(client, OnCallbackEventDocument, { after });
    expect(await send("sim-2")).toBe("HTTP 200");
    expect((await subscription.next()).data!.callbackEvents).toMatchObject({ trackingId: "sim-2", transferStatus: "CONFIRMED" });
    await client.dispose();

    // The terminal dashboard of the README prints the same events as JSON lines.
    const watcher = spawn(process.execPath, [BUILT_CLI, "watch-events", "--token", token, "--url", `${url.replace(/^http/, "ws")}/graphql`, "--after", after!], { env });
    let watched = "";
    const line = new Promise<string>((resolve) =>
      watcher.stdout!.on("data", (chunk) => {
        watched += String(chunk);
        if (watched.includes("\n")) resolve(watched.split("\n")[0]!);
      }),
    );
    expect(JSON.parse(await line)).toMatchObject({ trackingId: "sim-2", wallet: { id: "10001" } });
    watcher.kill("SIGINT");
    await expect(
      cliLastLine("send-callback", "--secret", "acs_whsec_wrong", "--url", `${url}/callbacks`),
    ).rejects.toMatchObject({ code: 1, stdout: expect.stringMatching(/^HTTP 401/) });
  });

  it("ends the terminal dashboard with the reason and the cursor to resume from when its token expires", async () => {
    const owner = await execute<{ me: { user: { id: string } } }, unknown>(url, "{ me { user { id } } }", {}, { token: await tokenFor("owner@example.com") });
    const shortLived = await createTokenService(loadConfig(env), systemClock).sign(owner.data!.me.user.id, 5);
    const history = await execute(url, CallbackEventsDocument, {}, { token: await tokenFor("owner@example.com") });
    const after = history.data!.callbackEvents.pageInfo.endCursor!;
    const watcher = promisify(execFile)(process.execPath, [BUILT_CLI, "watch-events", "--token", shortLived, "--url", `${url.replace(/^http/, "ws")}/graphql`, "--after", after], { env });
    await expect(watcher).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(`subscription ended: UNAUTHENTICATED: Token expired (resume with --after ${after})`),
    });
  });

  it("shuts down cleanly on SIGTERM", async () => {
    expect(await server.stop()).toBe(0);
    expect(server.stdout()).toContain('"msg":"shutting down"');
  });
});
