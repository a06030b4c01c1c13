import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postCallbackFromArgs } from "../src/cli/send-callback.js";
import { CallbackEvent } from "../src/events/event.entity.js";
import { BUILT_CLI } from "./support/built-server.js";
import { regenerateCallbackSecret } from "./support/callbacks.js";
import { DEMO_WALLETS, OTHER_WALLET } from "./support/fixtures.js";
import { execute, type GraphQLResult } from "./support/graphql-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

/** The event fields this command sets, including those the checked-in operations do not ask for. */
const EVENTS = `query($first: Int, $after: String) {
  callbackEvents(first: $first, after: $after) {
    edges { node {
      kind wallet { id } operationId trackingId depositStatus payoutStatus statusCode
      transferId transferStatus transferStatusCode amount amountCleared currency signedAt
    } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface EventNode {
  kind: string;
  wallet: { id: string };
  operationId: string;
  trackingId: string;
  depositStatus: string | null;
  payoutStatus: string | null;
  statusCode: number | null;
  transferId: string | null;
  transferStatus: string | null;
  transferStatusCode: number | null;
  amount: string | null;
  amountCleared: string | null;
  currency: string | null;
  signedAt: string;
}

interface EventsPage {
  callbackEvents: { edges: { node: EventNode }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

let server: TestServer;
let secret: string;
/** The environment a CLI on the service's machine has: the service's data directory and database. */
let env: NodeJS.ProcessEnv;
let scratch: string;

beforeAll(async () => {
  server = await startTestServer();
  secret = await regenerateCallbackSecret(server);
  const { dataDir, databaseUrl } = server.service.config;
  env = { PATH: process.env.PATH, DATA_DIR: dataDir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) };
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "send-callback-"));
});
afterAll(async () => {
  await server?.close();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

/** Runs the command in this process, against the test server; notes go to `notes`. */
async function send(args: string[], notes: string[] = []) {
  return postCallbackFromArgs([...args, "--url", `${server.url}/callbacks`], { env, note: (text) => notes.push(text) });
}

/** Runs the built CLI (`npm run cli -- send-callback ...`) with `cliEnv`; resolves with its exit code and output. */
async function cli(args: string[], cliEnv: NodeJS.ProcessEnv = env) {
  if (!fs.existsSync(BUILT_CLI)) throw new Error("run `npm run build` first (npm test does)");
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [BUILT_CLI, "send-callback", ...args, "--url", `${server.url}/callbacks`],
      { env: cliEnv },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Every event the demo Owner can read, oldest first. */
async function events(): Promise<EventNode[]> {
  const token = await server.token("owner@example.com");
  const nodes: EventNode[] = [];
  for (let after: string | null = null; ; ) {
    const result: GraphQLResult<EventsPage> = await execute<EventsPage, unknown>(server.url, EVENTS, { first: 100, after }, { token });
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    const page: EventsPage["callbackEvents"] = result.data!.callbackEvents;
    nodes.push(...page.edges.map((edge) => edge.node));
    if (!page.pageInfo.hasNextPage) return nodes;
    after = page.pageInfo.endCursor;
  }
}

async function eventOf(trackingId: string): Promise<EventNode | undefined> {
  return (await events()).find((event) => event.trackingId === trackingId);
}

/** Every event stored, of every account. */
const storedCount = () => server.em().count(CallbackEvent, {});

type Body = {
  data: { type: string; relationships: Record<string, { data: { id: string } } | undefined>; attributes: Record<string, unknown> };
  included: { type: string; id: string; attributes: Record<string, unknown>; relationships?: Record<string, unknown> }[];
  meta: { time: string; sign: string };
};

describe("send-callback builds a signed callback", () => {
  it("names the wallet's currency, read from the local database, and writes the amount with its decimals (the built CLI)", async () => {
    const saved = path.join(scratch, "btc.json");
    const run = await cli(["--secret", secret, "--wallet", DEMO_WALLETS.BTC, "--tracking-id", "cli-btc", "--save", saved]);
    expect(run).toMatchObject({ code: 0, stdout: "HTTP 200\n", stderr: "" });

    const body = JSON.parse(fs.readFileSync(saved, "utf8")) as Body;
    expect(body.data.relationships.currency).toEqual({ data: { type: "currency", id: "1000" } });
    expect(body.included.find((item) => item.type === "currency")).toMatchObject({
      id: "1000",
      attributes: { iso: 1000, alpha: "BTC", name: "Bitcoin", exp: 8 },
    });
    expect(await eventOf("cli-btc")).toMatchObject({
      kind: "DEPOSIT",
      wallet: { id: DEMO_WALLETS.BTC },
      currency: "BTC",
      amount: "0.30000000",
      transferStatus: "CONFIRMED",
    });
  });

  it("names no currency when there is no local database, and creates none", async () => {
    const elsewhere = fs.mkdtempSync(path.join(scratch, "no-database-"));
    const saved = path.join(scratch, "no-currency.json");
    const before = await storedCount();
    const run = await cli(["--secret", secret, "--tracking-id", "cli-no-currency", "--save", saved], {
      PATH: process.env.PATH,
      DATA_DIR: elsewhere,
    });
    expect(run).toMatchObject({ code: 0, stdout: "HTTP 200\n" });
    expect(run.stderr).toContain("The currency of wallet 10001 is not known here (there is no database at");
    expect(fs.readdirSync(elsewhere)).toEqual([]);

    const body = JSON.parse(fs.readFileSync(saved, "utf8")) as Body;
    expect(body.data.relationships.currency).toBeUndefined();
    expect(body.included.map((item) => item.type)).toEqual(["transfer"]);
    expect(body.included[0]!.relationships).toEqual({});
    expect(await storedCount()).toBe(before + 1);
    expect(await eventOf("cli-no-currency")).toMatchObject({ currency: "ETH", amount: "0.300000000000000000" });
  });

  it("sends a deposit without a transfer, signed over its status (CREATED unless given)", async () => {
    const created = await send(["--secret", secret, "--no-transfer", "--tracking-id", "no-transfer-created"]);
    expect([created.status, created.text]).toEqual([200, ""]);
    expect((created.body as Body).data.relationships.transfer).toBeUndefined();
    expect((created.body as Body).included.map((item) => item.type)).toEqual(["currency"]);
    const paid = await send([
      "--secret", secret, "--no-transfer", "--deposit-status", "paid", "--tracking-id", "no-transfer-paid",
    ]);
    expect(paid.status).toBe(200);

    const expected = {
      kind: "DEPOSIT", transferId: null, transferStatus: null, transferStatusCode: null, amount: null, payoutStatus: null,
    };
    expect(await eventOf("no-transfer-created")).toMatchObject({ ...expected, depositStatus: "CREATED", statusCode: 2 });
    expect(await eventOf("no-transfer-paid")).toMatchObject({ ...expected, depositStatus: "PAID", statusCode: 3 });
  });

  it("sends a payout without a transfer, and a payout's own status beside its transfer", async () => {
    const canceled = await send([
      "--secret", secret, "--kind", "payout", "--no-transfer", "--payout-status", "CANCELED", "--tracking-id", "payout-canceled",
    ]);
    expect(canceled.status).toBe(200);
    const bare = await send(["--secret", secret, "--kind", "payout", "--no-transfer", "--tracking-id", "payout-bare"]);
    expect(bare.status).toBe(200);
    const approved = await send([
      "--secret", secret, "--kind", "payout", "--payout-status", "2", "--transfer-id", "77001", "--operation-id", "88001",
      "--amount-cleared", "0.290000000000000000", "--status", "UNCONFIRMED", "--tracking-id", "payout-approved",
    ]);
    expect(approved.status).toBe(200);

    const noTransfer = { kind: "PAYOUT", transferId: null, transferStatus: null, amount: null, depositStatus: null };
    expect(await eventOf("payout-canceled")).toMatchObject({ ...noTransfer, payoutStatus: "CANCELED", statusCode: 3 });
    expect(await eventOf("payout-bare")).toMatchObject({ ...noTransfer, payoutStatus: null, statusCode: null });
    expect(await eventOf("payout-approved")).toMatchObject({
      kind: "PAYOUT",
      operationId: "88001",
      transferId: "77001",
      transferStatus: "UNCONFIRMED",
      payoutStatus: "APPROVED",
      statusCode: 2,
      amountCleared: "0.290000000000000000",
      currency: "ETH",
    });
  });

  it.each([
    { currency: "1002:ETH", status: 200, field: null },
    { currency: "1002:ETH:18", status: 200, field: null },
    { currency: "1000:BTC:8", status: 400, field: "currency (the wallet's currency is ETH)" },
    { currency: "1002:BTC", status: 400, field: "currency (the wallet's currency is ETH)" },
    { currency: "1000:ETH", status: 400, field: "currency (the wallet's currency is ETH)" },
  ])("--currency $currency on the ETH wallet: $status", async ({ currency, status, field }) => {
    const trackingId = `currency-${currency}`;
    const before = await storedCount();
    const sent = await send(["--secret", secret, "--currency", currency, "--tracking-id", trackingId]);
    expect(sent.status).toBe(status);
    if (field) expect(sent.text).toContain(field);
    expect(await storedCount()).toBe(before + (status === 200 ? 1 : 0));
    expect(Boolean(await eventOf(trackingId))).toBe(status === 200);
  });

  it.each([
    { args: ["--no-transfer", "--status", "CONFIRMED"], message: "--no-transfer sends no transfer: --status" },
    { args: ["--kind", "payout", "--deposit-status", "PAID"], message: "--deposit-status is for a deposit" },
    { args: ["--payout-status", "APPROVED"], message: "--payout-status is for a payout" },
    { args: ["--deposit-status", "PAID", "--payout-status", "APPROVED"], message: "exclude each other" },
    { args: ["--deposit-status", "SETTLED"], message: "--deposit-status must be one of CREATED (2), PAID (3)" },
    { args: ["--currency", "BTC"], message: "--currency must be <iso>:<alpha>[:<exp>]" },
    { args: ["--op-type", "one"], message: "--op-type must be an integer" },
    { args: ["--kind", "refund"], message: "--kind must be deposit or payout" },
  ])("refuses $args before posting anything", async ({ args, message }) => {
    const before = await storedCount();
    await expect(send(["--secret", secret, ...args])).rejects.toThrow(message);
    expect(await storedCount()).toBe(before);
  });
});

describe("send-callback --replay-of re-cuts a captured callback without re-signing it", () => {
  let captured: string;
  let body: Body;

  beforeAll(async () => {
    captured = path.join(scratch, "captured.json");
    const sent = await send(["--secret", secret, "--tracking-id", "captured-1", "--transfer-id", "55001", "--save", captured]);
    expect(sent.status).toBe(200);
    body = JSON.parse(fs.readFileSync(captured, "utf8")) as Body;
  });

  const transferOf = (posted: Body) => posted.included.find((item) => item.type === "transfer")!;

  it.each([
    { name: "as captured", args: () => [], status: 200 },
    // The signed message is the same characters split differently between amount and tracking id: the same callback.
    {
      name: "with a character moved from the amount to the tracking id",
      args: () => ["--amount", "0.30000000000000000", "--tracking-id", "0captured-1"],
      status: 200,
    },
    { name: "moved to another transfer", args: () => ["--transfer-id", "55002"], status: 200 },
    { name: "moved to another operation", args: () => ["--operation-id", "66002"], status: 200 },
    { name: "with another amount", args: () => ["--amount", "3.000000000000000000"], status: 401 },
    { name: "with another transfer status", args: () => ["--status", "FAILED"], status: 401 },
    { name: "with another time", args: () => ["--time", String(Number(body.meta.time) + 1)], status: 401 },
    { name: "as a deposit without its transfer", args: () => ["--no-transfer", "--deposit-status", "PAID"], status: 401 },
    { name: "moved to the other account's wallet", args: () => ["--wallet", OTHER_WALLET], status: 401 },
    { name: "moved to a wallet of another currency", args: () => ["--wallet", DEMO_WALLETS.BTC], status: 400 },
    { name: "as a payout (its transfer is incoming)", args: () => ["--kind", "payout"], status: 400 },
    { name: "naming another currency", args: () => ["--currency", "1000:BTC:8"], status: 400 },
  ])("$name: $status, nothing stored", async ({ args, status }) => {
    const before = await storedCount();
    const replayed = await send(["--replay-of", captured, ...args()]);
    expect(replayed.status).toBe(status);
    expect((replayed.body as Body).meta.sign).toBe(body.meta.sign);
    expect(await storedCount()).toBe(before);
  });

  it("changes only what the options name", async () => {
    const replayed = await send([
      "--replay-of", captured, "--transfer-id", "55003", "--op-type", "14", "--amount-cleared", "0.1", "--wallet", DEMO_WALLETS.USDT,
    ]);
    expect(replayed.status).toBe(400);
    const posted = replayed.body as Body;
    expect(posted.data.relationships.transfer).toEqual({ data: { type: "transfer", id: "55003" } });
    expect(posted.data.relationships.wallet).toEqual({ data: { type: "wallet", id: DEMO_WALLETS.USDT } });
    expect(transferOf(posted)).toMatchObject({
      id: "55003",
      attributes: { ...transferOf(body).attributes, op_type: 14, amount_cleared: "0.1" },
    });
    expect({ ...posted, included: [], data: { ...posted.data, relationships: {} } }).toEqual({
      ...body,
      included: [],
      data: { ...body.data, relationships: {} },
    });
  });

  it("exits with 1 and prints the answer when the re-cut is refused (the built CLI)", async () => {
    const before = await storedCount();
    const run = await cli(["--replay-of", captured, "--tracking-id", "captured-2"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^HTTP 401 /);
    expect(await storedCount()).toBe(before);
    expect(await eventOf("captured-2")).toBeUndefined();
  });
});
