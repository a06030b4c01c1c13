import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CallbackEventsDocument,
  OnCallbackEventDocument,
  type CallbackEventFilter,
  type OnCallbackEventSubscription,
} from "./generated/graphql.js";
import { hmac, postCallback, regenerateCallbackSecret } from "./support/callbacks.js";
import { DEMO_WALLETS } from "./support/fixtures.js";
import { execute } from "./support/graphql-client.js";
import { subscribe, wsClient } from "./support/ws-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

// Every callback here is written out as the platform sends it (docs/coinsbuy.md section 2.6) and signed here, from
// the secret, over the message the platform signs: nothing of the code under test builds or signs it.

let server: TestServer;
let secret: string;
let owner: string;

beforeAll(async () => {
  server = await startTestServer();
  secret = await regenerateCallbackSecret(server);
  owner = await server.token("owner@example.com");
});
afterAll(() => server?.close());

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ETH = { type: "currency", id: "1002", attributes: { iso: 1002, alpha: "ETH", exp: 18 } };
const BTC = { type: "currency", id: "1000", attributes: { iso: 1000, alpha: "BTC", exp: 8 } };
let counter = 0;

/** Now on the service's clock, in Unix seconds, as text. */
const nowSeconds = (offsetSeconds = 0) => String(Math.floor(server.clock.now() / 1000) + offsetSeconds);

function transfer(id: string, attributes: Json): Json {
  return { type: "transfer", id, attributes: { commission: "0", fee: "0", txid: `0x${id}`, ...attributes } };
}

/** A callback body; `sign` is the message the platform signs for it, computed by the test. */
function callback(options: {
  kind?: "deposit" | "payout";
  walletId?: string;
  trackingId?: unknown;
  status?: unknown;
  transfers?: Json[];
  named?: string | null;
  currency?: Json | null;
  time?: unknown;
  message: (time: string) => string;
}): Json {
  counter += 1;
  const time = options.time ?? nowSeconds();
  const currency = options.currency === undefined ? ETH : options.currency;
  return {
    data: {
      type: options.kind ?? "deposit",
      id: String(500_000 + counter),
      attributes: {
        tracking_id: options.trackingId ?? `variant-${counter}`,
        ...(options.status === undefined ? {} : { status: options.status }),
      },
      relationships: {
        wallet: { data: { type: "wallet", id: options.walletId ?? DEMO_WALLETS.ETH } },
        ...(currency ? { currency: { data: { type: "currency", id: currency.id } } } : {}),
        ...(options.named ? { transfer: { data: { type: "transfer", id: options.named } } } : {}),
      },
    },
    included: [...(currency ? [currency] : []), ...(options.transfers ?? [])],
    meta: { time, sign: hmac(secret, options.message(String(time))) },
  };
}

async function events(filter?: CallbackEventFilter) {
  const result = await execute(server.url, CallbackEventsDocument, { first: 100, filter }, { token: owner });
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data!.callbackEvents.edges.map((edge) => edge.node);
}
const count = async () => (await events()).length;
const eventOf = async (operationId: string) => (await events()).filter((event) => event.operationId === operationId);

describe("the variants a production integration handles (section 2.6)", () => {
  it("a deposit: signed over its transfer of op_type 1, found among other transfers in any order", async () => {
    const body = callback({
      trackingId: "inv-1",
      named: "t-in-1",
      transfers: [
        transfer("t-fee-1", { op_type: 11, status: 2, amount: "0.001" }),
        transfer("t-in-1", { op_type: 1, status: 2, amount: "1.500000000000000000", amount_cleared: "1.499000000000000000" }),
      ],
      message: (time) => `2${"1.500000000000000000"}inv-1${time}`,
    });
    expect((await postCallback(server.url, body)).status).toBe(200);
    const [event] = await eventOf(body.data.id);
    expect(event).toMatchObject({
      kind: "DEPOSIT",
      transferId: "t-in-1",
      transferStatus: "CONFIRMED",
      transferStatusCode: 2,
      amount: "1.500000000000000000",
      amountCleared: "1.499000000000000000",
      currency: "ETH",
      depositStatus: null,
      replayOf: null,
    });
  });

  it("a payout with a Transportation transfer (op_type 9) before its own, named or not: signed over op_type 2", async () => {
    for (const named of ["t-out-9", "t-out-2", null]) {
      const transfers = [
        transfer(`${named}-9`, { op_type: 9, status: 2, amount: "0.002" }),
        transfer(`${named}-2`, { op_type: 2, status: 1, amount: "0.700000000000000000" }),
      ];
      const body = callback({
        kind: "payout",
        trackingId: `pay-9-${named}`,
        status: 2,
        named: named && `${named}-${named.slice(-1)}`,
        transfers,
        message: (time) => `1${"0.700000000000000000"}pay-9-${named}${time}`,
      });
      expect((await postCallback(server.url, body)).status, String(named)).toBe(200);
      const [event] = await eventOf(body.data.id);
      expect(event, String(named)).toMatchObject({ kind: "PAYOUT", transferId: `${named}-2`, transferStatus: "UNCONFIRMED", payoutStatus: "APPROVED", statusCode: 2 });
    }
  });

  it("a transfer named by the relationship when none has the kind's own type; never a Transportation one", async () => {
    const direct = callback({
      named: "t-14",
      trackingId: "direct-1",
      transfers: [transfer("t-14", { op_type: 14, status: 2, amount: "2.5" })],
      message: (time) => `22.5direct-1${time}`,
    });
    expect((await postCallback(server.url, direct)).status).toBe(200);
    expect((await eventOf(direct.data.id))[0]).toMatchObject({ transferId: "t-14", amount: "2.5" });

    // Only a Transportation transfer: the payout is signed as one without a transfer.
    const transport = callback({
      kind: "payout",
      named: "t-only-9",
      trackingId: "transport-1",
      status: 3,
      transfers: [transfer("t-only-9", { op_type: 9, status: 2, amount: "0.002" })],
      message: (time) => `transport-1${time}`,
    });
    expect((await postCallback(server.url, transport)).status).toBe(200);
    expect((await eventOf(transport.data.id))[0]).toMatchObject({ transferId: null, amount: null, payoutStatus: "CANCELED" });
  });

  it("a deposit without a transfer: signed over its status, tracking id and time, stored with no transfer fields", async () => {
    const body = callback({ trackingId: "inv-no-transfer", status: 2, message: (time) => `2inv-no-transfer${time}` });
    expect((await postCallback(server.url, body)).status).toBe(200);
    expect((await eventOf(body.data.id))[0]).toMatchObject({
      kind: "DEPOSIT",
      depositStatus: "CREATED",
      statusCode: 2,
      transferId: null,
      transferStatus: null,
      transferStatusCode: null,
      amount: null,
      amountCleared: null,
    });
    // The deposit moving on (Paid, then Unresolved), each a new event.
    for (const status of [3, 5]) {
      const next = callback({ trackingId: "inv-no-transfer", status, message: (time) => `${status}inv-no-transfer${time}` });
      next.data.id = body.data.id;
      expect((await postCallback(server.url, next)).status).toBe(200);
    }
    expect((await eventOf(body.data.id)).map((event) => event.depositStatus)).toEqual(["CREATED", "PAID", "UNRESOLVED"]);
  });

  it("a payout without a transfer (canceled early): signed over its tracking id and time alone", async () => {
    const body = callback({ kind: "payout", trackingId: "pay-canceled", status: 3, message: (time) => `pay-canceled${time}` });
    expect((await postCallback(server.url, body)).status).toBe(200);
    expect((await eventOf(body.data.id))[0]).toMatchObject({ kind: "PAYOUT", payoutStatus: "CANCELED", transferId: null, amount: null });
    // Signed as a deposit without a transfer would be (with the status in front): not the platform's signature.
    const wrong = callback({ kind: "payout", trackingId: "pay-canceled-2", status: 3, message: (time) => `3pay-canceled-2${time}` });
    expect((await postCallback(server.url, wrong)).status).toBe(401);
  });

  it("a payout's two statuses: Waiting then Approved with its transfer unchanged are two events; a resend of either is not", async () => {
    const payout = (status: number) =>
      callback({
        kind: "payout",
        trackingId: "pay-approve",
        status,
        named: "t-approve",
        transfers: [transfer("t-approve", { op_type: 2, status: 0, amount: "0.250000000000000000" })],
        message: (time) => `0${"0.250000000000000000"}pay-approve${time}`,
      });
    const waiting = payout(1);
    const approved: Json = payout(2);
    approved.data.id = waiting.data.id;
    expect((await postCallback(server.url, waiting)).status).toBe(200);
    // Signed a second later: a different signed message, the same payout, transfer and statuses.
    const resent = callback({
      kind: "payout",
      trackingId: "pay-approve",
      status: 1,
      named: "t-approve",
      transfers: [transfer("t-approve", { op_type: 2, status: 0, amount: "0.250000000000000000" })],
      time: nowSeconds(1),
      message: (time) => `0${"0.250000000000000000"}pay-approve${time}`,
    });
    resent.data.id = waiting.data.id;
    const before = await count();
    expect((await postCallback(server.url, resent)).status).toBe(200);
    expect(await count()).toBe(before);
    approved.meta = { time: nowSeconds(2), sign: hmac(secret, `0${"0.250000000000000000"}pay-approve${nowSeconds(2)}`) };
    expect((await postCallback(server.url, approved)).status).toBe(200);
    expect((await eventOf(waiting.data.id)).map((event) => event.payoutStatus)).toEqual(["WAITING", "APPROVED"]);
    const approvedOnly = await events({ payoutStatuses: ["APPROVED" as never] });
    expect(approvedOnly.map((event) => event.operationId)).toContain(waiting.data.id);
    expect(approvedOnly.every((event) => event.kind === "PAYOUT" && event.payoutStatus === "APPROVED")).toBe(true);
  });

  it("numbers as the platform's serializers send them: a safe integer is signed as its decimal text and stored as sent", async () => {
    const time = Math.floor(server.clock.now() / 1000);
    const body = callback({
      trackingId: 90045,
      time,
      named: "t-numbers",
      transfers: [transfer("t-numbers", { op_type: 1, status: 2, amount: "1.5" })],
      message: () => `21.590045${time}`,
    });
    expect((await postCallback(server.url, body)).status).toBe(200);
    expect((await eventOf(body.data.id))[0]).toMatchObject({ trackingId: "90045", signedAt: String(time) });
    // Written as text, the status is signed as that text.
    const text = callback({
      named: "t-text",
      trackingId: "text-status",
      transfers: [transfer("t-text", { op_type: "1", status: "2", amount: "1.5" })],
      message: (time) => `21.5text-status${time}`,
    });
    expect((await postCallback(server.url, text)).status).toBe(200);
  });

  it("meta.time in ISO 8601 with microseconds, as the platform writes date-times", async () => {
    const iso = new Date(server.clock.now()).toISOString().replace(/\.(\d{3})Z$/, ".$1456Z");
    const body = callback({
      time: iso,
      trackingId: "iso-1",
      transfers: [transfer("t-iso", { op_type: 1, status: 1, amount: "0.5" })],
      message: () => `10.5iso-1${iso}`,
    });
    expect((await postCallback(server.url, body)).status).toBe(200);
    expect((await eventOf(body.data.id))[0]).toMatchObject({ signedAt: iso, transferStatus: "UNCONFIRMED" });
    const offset = new Date(server.clock.now() + 2 * 3600_000).toISOString().replace(/\.\d{3}Z$/, "+02:00");
    const withOffset = callback({ time: offset, trackingId: "iso-2", status: 2, message: () => `2iso-2${offset}` });
    expect((await postCallback(server.url, withOffset)).status).toBe(200);
  });

  it("codes the platform does not document: stored as sent, named UNKNOWN, filterable", async () => {
    const body = callback({
      trackingId: "unknown-codes",
      status: 9,
      named: "t-unknown",
      transfers: [transfer("t-unknown", { op_type: 1, status: 7, amount: "0.1" })],
      message: (time) => `70.1unknown-codes${time}`,
    });
    expect((await postCallback(server.url, body)).status).toBe(200);
    expect((await eventOf(body.data.id))[0]).toMatchObject({ depositStatus: "UNKNOWN", statusCode: 9, transferStatus: "UNKNOWN", transferStatusCode: 7 });
    const unknown = await events({ statuses: ["UNKNOWN" as never] });
    expect(unknown.map((event) => event.operationId)).toEqual([body.data.id]);
    const unknownDeposits = await events({ depositStatuses: ["UNKNOWN" as never] });
    expect(unknownDeposits.map((event) => event.operationId)).toEqual([body.data.id]);
    // A status filter never matches an event without that status.
    expect((await events({ statuses: ["CONFIRMED" as never] })).every((event) => event.transferId !== null)).toBe(true);
  });

  it("pushes the new statuses to a subscriber, filtered by them", async () => {
    const client = wsClient(server.url, { token: owner });
    const [head] = (await events()).slice(-1);
    const subscription = subscribe<OnCallbackEventSubscription>(client, OnCallbackEventDocument, {
      after: head!.cursor,
      filter: { depositStatuses: ["PAID"] },
    });
    const created = callback({ trackingId: "live-created", status: 2, message: (time) => `2live-created${time}` });
    const paid = callback({ trackingId: "live-paid", status: 3, message: (time) => `3live-paid${time}` });
    for (const body of [created, paid]) expect((await postCallback(server.url, body)).status).toBe(200);
    const pushed = (await subscription.next()).data!.callbackEvents;
    expect(pushed).toMatchObject({ operationId: paid.data.id, depositStatus: "PAID", statusCode: 3, transferId: null });
    subscription.dispose();
    await client.dispose();
  });
});

describe("what the signature cannot vouch for", () => {
  const deposit = (overrides: { time?: string; walletId?: string; currency?: Json | null; amount?: string; trackingId?: string } = {}) => {
    const amount = overrides.amount ?? "0.5";
    const trackingId = overrides.trackingId ?? `checks-${counter + 1}`;
    return callback({
      time: overrides.time,
      walletId: overrides.walletId,
      currency: overrides.currency,
      trackingId,
      transfers: [transfer(`t-checks-${counter + 1}`, { op_type: 1, status: 2, amount })],
      message: (time) => `2${amount}${trackingId}${time}`,
    });
  };

  it.each([
    ["signed 8 days ago (stale)", () => deposit({ time: nowSeconds(-8 * 86_400) }), /stale/],
    ["signed 10 minutes ahead of the clock", () => deposit({ time: nowSeconds(600) }), /ahead/],
    ["naming another currency than the wallet's", () => deposit({ walletId: DEMO_WALLETS.BTC, currency: ETH }), /currency/],
    ["with more decimals than the wallet's currency has", () => deposit({ walletId: DEMO_WALLETS.BTC, currency: BTC, amount: "0.123456789" }), /8 decimals/],
  ])("refuses a callback %s with 400, storing nothing", async (_name, body, detail) => {
    const before = await count();
    const answer = await postCallback(server.url, body());
    expect(answer.status).toBe(400);
    expect(answer.text).toMatch(detail);
    expect(await count()).toBe(before);
  });

  it("accepts one signed 6 days ago, one 4 minutes ahead, and one naming no currency (the wallet's)", async () => {
    for (const body of [deposit({ time: nowSeconds(-6 * 86_400) }), deposit({ time: nowSeconds(240) }), deposit({ walletId: DEMO_WALLETS.BTC, currency: null, amount: "0.12345678" })]) {
      expect((await postCallback(server.url, body)).status).toBe(200);
    }
    expect((await events()).at(-1)).toMatchObject({ currency: "BTC", wallet: { id: DEMO_WALLETS.BTC } });
  });

  it("counts each refusal by its reason, and logs an unknown wallet apart from a bad signature", async () => {
    const unknownWallet = deposit({ walletId: "987654" });
    const badSignature = deposit();
    badSignature.meta.sign = hmac("not the secret", "x");
    expect((await postCallback(server.url, unknownWallet)).status).toBe(401);
    expect((await postCallback(server.url, badSignature)).status).toBe(401);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    for (const reason of ["stale", "future", "currency_mismatch", "amount_precision", "unknown_wallet", "bad_signature"]) {
      expect(metrics).toMatch(new RegExp(`^callbacks_refused_total\\{reason="${reason}"\\} [1-9]`, "m"));
    }
    expect(server.logs.some((line) => line.includes('"reason":"unknown_wallet"') && line.includes("987654"))).toBe(true);
    expect(server.logs.some((line) => line.includes('"reason":"bad_signature"'))).toBe(true);
  });

  it("takes any age with CALLBACK_MAX_AGE_SECONDS=0", async () => {
    const lenient = await startTestServer({ CALLBACK_MAX_AGE_SECONDS: "0" });
    try {
      const key = await regenerateCallbackSecret(lenient);
      const time = String(Math.floor(lenient.clock.now() / 1000) - 400 * 86_400);
      const body = {
        data: { type: "deposit", id: "1", attributes: { tracking_id: "old" }, relationships: { wallet: { data: { type: "wallet", id: DEMO_WALLETS.ETH } } } },
        included: [transfer("t-old", { op_type: 1, status: 2, amount: "1" })],
        meta: { time, sign: hmac(key, `21old${time}`) },
      };
      expect((await postCallback(lenient.url, body)).status).toBe(200);
    } finally {
      await lenient.close();
    }
  });
});

describe("forged events from one captured callback", () => {
  /** The captured callback: amount 1.5, tracking id 90045, signed now. */
  let genuine: Json;
  let time: string;
  const recut = (change: (body: Json) => void) => {
    const body = structuredClone(genuine);
    change(body);
    return body;
  };
  const signedTransfer = (body: Json) => body.included.find((item: Json) => item.type === "transfer");

  beforeAll(async () => {
    time = nowSeconds();
    genuine = callback({
      time,
      trackingId: "90045",
      named: "t-genuine",
      transfers: [transfer("t-genuine", { op_type: 1, status: 2, amount: "1.5" })],
      message: () => `21.590045${time}`,
    });
    expect((await postCallback(server.url, genuine)).status).toBe(200);
  });

  it.each<[string, (body: Json) => void]>([
    ["amount 1.59004 with tracking id 5 and a new transfer id", (body) => {
      Object.assign(signedTransfer(body).attributes, { amount: "1.59004" });
      signedTransfer(body).id = "t-forged";
      body.data.relationships.transfer.data.id = "t-forged";
      body.data.attributes.tracking_id = "5";
    }],
    ["digits moved from the time into the tracking id", (body) => {
      body.data.attributes.tracking_id = `90045${time.slice(0, 2)}`;
      body.meta.time = time.slice(2);
    }],
    ["digits moved from the tracking id into the time", (body) => {
      body.data.attributes.tracking_id = "9004";
      body.meta.time = `5${time}`;
    }],
    ["the same signature re-typed as a payout on another wallet of the account", (body) => {
      body.data.type = "payout";
      body.data.relationships.wallet.data.id = DEMO_WALLETS.BTC;
    }],
    ["re-typed as a payout on another wallet, its transfer's type and currency changed to match", (body) => {
      body.data.type = "payout";
      body.data.relationships.wallet.data.id = DEMO_WALLETS.BTC;
      signedTransfer(body).attributes.op_type = 2;
      delete body.data.relationships.currency;
      body.included = body.included.filter((item: Json) => item.type !== "currency");
    }],
    ["its unsigned fields changed (ids, txid, kind of the transfer)", (body) => {
      body.data.id = "999999";
      signedTransfer(body).attributes.txid = "0xattacker";
    }],
  ])("%s: answered without a new event", async (_name, change) => {
    const before = await events();
    const answer = await postCallback(server.url, recut(change));
    expect([200, 400]).toContain(answer.status);
    expect(await events()).toEqual(before);
  });

  it("moving characters across each boundary of the signed message never makes a new event", async () => {
    const message = `2${"1.5"}${"90045"}${time}`;
    // Every split of the same characters into status, amount, tracking id and time.
    const splits: [string, string, string, string][] = [];
    for (let a = 1; a < message.length - 2; a++) {
      for (let b = a + 1; b < message.length - 1; b++) {
        for (let c = b + 1; c < message.length; c++) {
          const split: [string, string, string, string] = [message.slice(0, a), message.slice(a, b), message.slice(b, c), message.slice(c)];
          if (split.join("|") !== `2|1.5|90045|${time}`) splits.push(split);
        }
      }
    }
    const before = await events();
    const answers = new Map<number, number>();
    for (const [status, amount, trackingId, signedAt] of splits) {
      const body = recut((copy) => {
        const attributes = signedTransfer(copy).attributes;
        attributes.status = /^-?\d+$/.test(status) ? Number(status) : status;
        attributes.amount = amount;
        copy.data.attributes.tracking_id = trackingId;
        copy.meta.time = signedAt;
      });
      const { status: answer } = await postCallback(server.url, body);
      answers.set(answer, (answers.get(answer) ?? 0) + 1);
    }
    expect([...answers.keys()].every((status) => status === 200 || status === 400)).toBe(true);
    // Some splits are well formed and verify (the same message): those are duplicates.
    expect(answers.get(200)).toBeGreaterThan(0);
    expect(await events()).toEqual(before);
  }, 60_000);
});
