import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { buildSignedCallback } from "../src/callbacks/callback-builder.js";
import { CallbackEventKind, TransferStatus } from "../src/events/event.js";
import { totpCodeAt } from "../src/confirmation/totp.js";

export const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DEMO_PASSWORD = "bench-password";
export const DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

export interface Started {
  url: string;
  child: ChildProcess;
  /**
   * Runs a full garbage collection in the server's main thread, through its inspector; only for a server started
   * with {@link INSPECTOR_FLAG}.
   */
  collectGarbage(): Promise<void>;
  stop(): Promise<void>;
}

/** The node flag that opens a server's inspector on a free local port, for {@link Started.collectGarbage}. */
export const INSPECTOR_FLAG = "--inspect=127.0.0.1:0";

/** Asks the inspector at `url` (a `ws://` address) for a full garbage collection and waits until it is done. */
async function collectGarbageAt(url: string): Promise<void> {
  const socket = new WebSocket(url);
  try {
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    await new Promise<void>((resolve, reject) => {
      socket.on("message", (data) => {
        if ((JSON.parse(String(data)) as { id?: number }).id === 1) resolve();
      });
      socket.once("error", reject);
      socket.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" }));
    });
  } finally {
    socket.close();
  }
}

/**
 * Spawns a node program of a build (this one unless `dist` names another), with `nodeFlags` given to node, and waits
 * for the JSON line that announces its port.
 */
export async function spawnServer(script: string, env: NodeJS.ProcessEnv, dist = DIST, nodeFlags: readonly string[] = []): Promise<Started> {
  const child = spawn(process.execPath, [...nodeFlags, path.join(dist, script)], { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  // Its errors go on to this process's; the inspector's address is read from them.
  let inspector: string | null = null;
  let errors = "";
  child.stderr!.on("data", (chunk) => {
    const text = String(chunk);
    if (!inspector) {
      errors += text;
      inspector = /Debugger listening on (ws:\/\/\S+)/.exec(errors)?.[1] ?? null;
    }
    // The inspector's own banner is left out.
    const rest = text.split("\n").filter((line) => !/^(Debugger (listening on|ending on|attached)|For help, see:|Waiting for the debugger)/.test(line)).join("\n");
    if (rest.trim()) process.stderr.write(rest);
  });
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on("data", (chunk) => {
      output += String(chunk);
      for (const line of output.split("\n")) {
        if (line.includes("listening")) {
          try {
            resolve(JSON.parse(line).port);
          } catch {
            // not a JSON line
          }
        }
      }
    });
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}: ${output}`)));
  });
  child.stdout!.resume();
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    collectGarbage() {
      if (!inspector) return Promise.reject(new Error(`${script} was not started with ${INSPECTOR_FLAG}`));
      return collectGarbageAt(inspector);
    },
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** A fresh database for one benchmark: a temp data directory, and on PostgreSQL a new database. */
export async function freshDatabase(): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "access-bench-"));
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    return { env: { DATA_DIR: dataDir }, drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }) };
  }
  const name = `access_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: url.toString() },
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`drop database if exists "${name}" with (force)`);
      await client.end();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The service's environment for a benchmark: demo data with known credentials, quiet logs. */
export function serviceEnv(database: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...database,
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    SEED_DEMO: "true",
    DEMO_PASSWORD,
    DEMO_TOTP_SECRET,
    // The benchmarks send thousands of events to one subscriber at a time; do not count that as slow.
    SUBSCRIPTION_SEND_TIMEOUT_MS: "60000",
    // P3 opens 5,000 sockets of one user from one address.
    WS_MAX_SOCKETS_PER_ADDRESS: "10000",
    WS_MAX_SOCKETS_PER_USER: "10000",
    // ...and each subscription is an operation of the demo account.
    ACCOUNT_REQUEST_BUDGET: "100000",
  };
}

export async function graphql(url: string, token: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Record<string, any>; errors?: unknown[] }; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

/** Has the demo Owner regenerate the callback secret (confirmed with the known password and TOTP secret). */
export async function regenerateCallbackSecret(url: string, ownerToken: string): Promise<string> {
  const data = await graphql(
    url,
    ownerToken,
    "mutation($c: ConfirmationInput!) { regenerateCallbackSecret(input: { confirmation: $c }) { callbackSecret } }",
    { c: { password: DEMO_PASSWORD, otp: totpCodeAt(DEMO_TOTP_SECRET, Date.now()) } },
  );
  return data.regenerateCallbackSecret.callbackSecret;
}

let counter = 0;
/** A signed deposit callback with a unique transfer, as the platform would send it, signed now. */
export function signedBody(secret: string, trackingId = `bench-${process.pid}-${++counter}`): string {
  counter += 1;
  return JSON.stringify(
    buildSignedCallback({
      walletId: "10001",
      kind: CallbackEventKind.DEPOSIT,
      status: TransferStatus.CONFIRMED,
      amount: "0.300000000000000000",
      trackingId,
      transferId: `${process.pid}${counter}`,
      operationId: String(counter),
      secret,
    }),
  );
}

/** Opens n graphql-ws subscriptions; `onEvent` gets each pushed event. Resolves once all are acknowledged. */
export async function subscribers(
  url: string,
  token: string,
  count: number,
  query: string,
  onEvent: (event: { trackingId: string }) => void,
): Promise<{ clients: Client[]; close(): Promise<void> }> {
  const clients: Client[] = [];
  const batch = 200;
  for (let start = 0; start < count; start += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - start) }, async () => {
        const client = createClient({ url: url.replace(/^http/, "ws") + "/graphql", webSocketImpl: WebSocket, connectionParams: { token }, lazy: false, retryAttempts: 0 });
        clients.push(client);
        await new Promise<void>((resolve, reject) => {
          client.on("connected", () => resolve());
          client.on("error", reject);
        });
        const next = (result: { data?: unknown; errors?: unknown }) => {
          if (result.data) return onEvent((result.data as { callbackEvents: { trackingId: string } }).callbackEvents);
          // A refused subscription would leave the run waiting for events forever: it ends the run instead.
          console.error(`a benchmark subscription was refused: ${JSON.stringify(result.errors)}`);
          process.exit(1);
        };
        client.subscribe({ query }, { next, error: () => {}, complete: () => {} });
      }),
    );
  }
  return { clients, close: async () => void (await Promise.all(clients.map((client) => client.dispose()))) };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
