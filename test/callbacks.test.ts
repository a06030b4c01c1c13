import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Account } from "../src/access/account.entity.js";
import { CallbackEvent } from "../src/events/event.entity.js";
import {
  CallbackEventsDocument,
  OnCallbackEventDocument,
  type OnCallbackEventSubscription,
} from "./generated/graphql.js";
import { depositCallback, headCursor, hmac, postCallback, regenerateCallbackSecret } from "./support/callbacks.js";
import { onPostgres } from "./support/database.js";
import { DEMO_WALLETS, OTHER_WALLET } from "./support/fixtures.js";
import { codes, execute } from "./support/graphql-client.js";
import { apiUserAccess } from "./support/api-user.js";
import { subscribe, wsClient } from "./support/ws-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

const UNAUTHORIZED = "The callback signature is not valid";

let server: TestServer;
let secret: string;
let demoAccountId: string;
const sockets: { dispose(): void | Promise<void> }[] = [];

beforeAll(async () => {
  server = await startTestServer();
  secret = await regenerateCallbackSecret(server);
  demoAccountId = (await server.em().findOneOrFail(Account, { name: "Demo Merchant" })).id;
});
afterAll(async () => {
  for (const socket of sockets) await socket.dispose();
  await server?.close();
});

async function storedEvents(): Promise<CallbackEvent[]> {
  return server.em().find(CallbackEvent, { account: demoAccountId }, { orderBy: { sequence: "asc" } });
}

/** A subscriber of the Owner that starts after the newest stored event. */
async function ownerSubscriber() {
  const client = wsClient(server.url, { token: await server.token("owner@example.com") });
  sockets.push(client);
  return subscribe<OnCallbackEventSubscription>(client, OnCallbackEventDocument, { after: await headCursor(server, secret) });
}

function resign(body: Record<string, unknown>, key: string, time: string): Record<string, unknown> {
  const copy = structuredClone(body) as {
    data: { attributes: { tracking_id: string } };
    included: { type: string; attributes: { status: number; amount: string } }[];
    meta: { time: string; sign: string };
  };
  const transfer = copy.included.find((item) => item.type === "transfer")!;
  copy.meta.time = time;
  copy.meta.sign = hmac(key, `${transfer.attributes.status}${transfer.attributes.amount}${copy.data.attributes.tracking_id}${time}`);
  return copy;
}

describe("ingress: a signed callback is stored and pushed", () => {
  it("answers 200 with an empty body once stored, and a graphql-ws subscriber receives it", async () => {
    const subscriber = await ownerSubscriber();
    const callback = depositCallback(secret, { amount: "0.123400000000000000", trackingId: "invoice-7" });
    const before = (await storedEvents()).length;
    const answer = await postCallback(server.url, callback);
    expect(answer).toEqual({ status: 200, text: "" });
    expect(await storedEvents()).toHaveLength(before + 1);

    const pushed = (await subscriber.next()).data!.callbackEvents;
    expect(pushed).toMatchObject({
      kind: "DEPOSIT",
      wallet: { id: DEMO_WALLETS.ETH },
      trackingId: "invoice-7",
      transferStatus: "CONFIRMED",
      amount: "0.123400000000000000",
      currency: "ETH",
    });
    const history = await execute(server.url, CallbackEventsDocument, { first: 100 }, { token: await server.token("owner@example.com") });
    expect(history.data!.callbackEvents.edges.at(-1)!.node).toEqual(pushed);
    subscriber.dispose();
  });

  it("takes a compressed body, a trailing slash and a query string, and leaves other methods to the rest of the service", async () => {
    const before = (await storedEvents()).length;
    for (const [encoding, compress] of [["gzip", gzipSync], ["deflate", deflateSync], ["br", brotliCompressSync]] as const) {
      const response = await fetch(`${server.url}/callbacks`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-encoding": encoding },
        body: compress(Buffer.from(JSON.stringify(depositCallback(secret)))),
      });
      expect(response.status, encoding).toBe(200);
    }
    const slashAndQuery = await fetch(`${server.url}/callbacks/?source=platform`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(depositCallback(secret)),
    });
    expect(slashAndQuery.status).toBe(200);
    expect(await storedEvents()).toHaveLength(before + 4);
    expect((await fetch(`${server.url}/callbacks`)).status).toBe(404);
  });

  it("takes a shallow body with many brackets, in strings and in wide arrays (only nesting is limited)", async () => {
    const before = (await storedEvents()).length;
    const body = { ...depositCallback(secret), notes: "[{".repeat(50), wide: Array.from({ length: 50 }, () => [{}]) };
    expect((await postCallback(server.url, body)).status).toBe(200);
    expect(await storedEvents()).toHaveLength(before + 1);
  });

  it("refuses a callback signed with the previous secret once it was regenerated", async () => {
    const old = secret;
    secret = await regenerateCallbackSecret(server);
    const before = (await storedEvents()).length;
    expect(await postCallback(server.url, depositCallback(old))).toMatchObject({ status: 401 });
    expect(await postCallback(server.url, depositCallback(secret))).toMatchObject({ status: 200 });
    expect(await storedEvents()).toHaveLength(before + 1);
  });

  it("during an overlap either secret verifies; one second after it ends, only the new one", async () => {
    const old = secret;
    secret = await regenerateCallbackSecret(server, 60);
    expect((await postCallback(server.url, depositCallback(old))).status).toBe(200);
    expect((await postCallback(server.url, depositCallback(secret))).status).toBe(200);
    server.clock.advance(59_000);
    expect((await postCallback(server.url, depositCallback(old))).status).toBe(200);
    server.clock.advance(2_000);
    expect((await postCallback(server.url, depositCallback(old))).status).toBe(401);
    expect((await postCallback(server.url, depositCallback(secret))).status).toBe(200);
  });
});

describe("the callback secrets in memory", () => {
  /** Counts the reads of an account's callback secrets from now on. */
  function secretReads(): { count(): number } {
    let reads = 0;
    let listening = true;
    server.service.db.onStatement((sql) => {
      if (listening && /from\s+["`]?callback_secret["`]?/i.test(sql)) reads += 1;
    });
    return {
      count() {
        listening = false;
        return reads;
      },
    };
  }

  it("are read once for all the callbacks that arrive while they are read (regression: each started its own read)", async () => {
    const cache = server.service.callbackSecrets;
    server.clock.advance(1_001);
    const reads = secretReads();
    const all = await Promise.all(Array.from({ length: 20 }, () => cache.verifying(() => server.em(), demoAccountId)));
    expect(reads.count()).toBe(1);
    expect(new Set(all.map((secrets) => secrets.join()))).toEqual(new Set([secret]));
  });

  it("are read once when concurrent callbacks find them expired, and each callback is stored", async () => {
    server.clock.advance(1_001);
    const before = (await storedEvents()).length;
    const reads = secretReads();
    const answers = await Promise.all(Array.from({ length: 20 }, () => postCallback(server.url, depositCallback(secret))));
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
    expect(reads.count()).toBe(1);
    expect(await storedEvents()).toHaveLength(before + 20);
  });

  it("are not filled by a read that was in flight when they were dropped, nor kept from a read that failed", async () => {
    const cache = server.service.callbackSecrets;
    server.clock.advance(1_001);
    const stale = cache.verifying(() => server.em(), demoAccountId);
    cache.invalidate(demoAccountId);
    await stale;
    const reads = secretReads();
    await cache.verifying(() => server.em(), demoAccountId);
    await cache.verifying(() => server.em(), demoAccountId);
    expect(reads.count()).toBe(1);

    server.clock.advance(1_001);
    await expect(
      cache.verifying(() => {
        throw new Error("no connection");
      }, demoAccountId),
    ).rejects.toThrow("no connection");
    expect(await cache.verifying(() => server.em(), demoAccountId)).toEqual([secret]);
  });
});

describe("ingress refusals: the right answer, nothing stored, nothing published", () => {
  type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const without = (mutate: (body: Body) => void) => () => {
    const body = depositCallback(secret) as Body;
    mutate(body);
    return body;
  };
  const cases: { name: string; body: () => unknown; headers?: Record<string, string>; status: number; text: RegExp }[] = [
    { name: "malformed JSON", body: () => '{"data": {', status: 400, text: /not valid JSON/ },
    { name: "an empty body", body: () => "", status: 400, text: /not valid JSON/ },
    { name: "a JSON array", body: () => "[]", status: 400, text: /Missing or invalid body/ },
    { name: "deeply nested JSON", body: () => "[".repeat(100_000) + "]".repeat(100_000), status: 400, text: /nested too deeply/ },
    { name: "JSON nested 33 deep", body: () => "[".repeat(33) + "]".repeat(33), status: 400, text: /nested too deeply/ },
    { name: "JSON nested 33 deep in objects", body: without((b) => (b.extra = JSON.parse('{"a":'.repeat(32) + "1" + "}".repeat(32)))), status: 400, text: /nested too deeply/ },
    { name: "no data", body: without((b) => delete b.data), status: 400, text: /Missing or invalid data"/ },
    { name: "an unknown type", body: without((b) => (b.data.type = "refund")), status: 400, text: /data\.type/ },
    { name: "no data.id", body: without((b) => delete b.data.id), status: 400, text: /data\.id/ },
    { name: "no attributes", body: without((b) => delete b.data.attributes), status: 400, text: /data\.attributes/ },
    { name: "no wallet relationship", body: without((b) => delete b.data.relationships.wallet), status: 400, text: /data\.relationships\.wallet/ },
    { name: "a wallet id of the wrong type", body: without((b) => (b.data.relationships.wallet.data.id = { id: 1 })), status: 400, text: /wallet\.data\.id/ },
    { name: "included not a list", body: without((b) => (b.included = {})), status: 400, text: /included/ },
    // Without a transfer, a deposit signs its own status, which this one does not send.
    { name: "no included", body: without((b) => delete b.included), status: 400, text: /data\.attributes\.status/ },
    { name: "no included transfer", body: without((b) => (b.included = b.included.filter((i: Body) => i.type !== "transfer"))), status: 400, text: /data\.attributes\.status/ },
    { name: "no status", body: without((b) => delete b.included[1].attributes.status), status: 400, text: /transfer\.attributes\.status/ },
    { name: "a fractional status", body: without((b) => (b.included[1].attributes.status = 2.5)), status: 400, text: /transfer\.attributes\.status/ },
    { name: "a status beyond 2^53", body: without((b) => (b.included[1].attributes.status = 2 ** 60)), status: 400, text: /transfer\.attributes\.status/ },
    { name: "no op_type", body: without((b) => delete b.included[1].attributes.op_type), status: 400, text: /op_type/ },
    { name: "a deposit's transfer moving funds out", body: without((b) => (b.included[1].attributes.op_type = 16)), status: 400, text: /op_type/ },
    { name: "a payout signing a deposit's transfer", body: without((b) => (b.data.type = "payout")), status: 400, text: /op_type/ },
    { name: "an amount with a sign", body: without((b) => (b.included[1].attributes.amount = "+0.3")), status: 400, text: /transfer\.attributes\.amount/ },
    { name: "an amount with an exponent", body: without((b) => (b.included[1].attributes.amount = "3e-1")), status: 400, text: /transfer\.attributes\.amount/ },
    { name: "an amount as a number", body: without((b) => (b.included[1].attributes.amount = 0.3)), status: 400, text: /transfer\.attributes\.amount/ },
    { name: "a huge amount", body: without((b) => (b.included[1].attributes.amount = "9".repeat(5000))), status: 400, text: /transfer\.attributes\.amount/ },
    { name: "a tracking id of the wrong type", body: without((b) => (b.data.attributes.tracking_id = { id: 12 })), status: 400, text: /tracking_id/ },
    { name: "a fractional tracking id", body: without((b) => (b.data.attributes.tracking_id = 12.5)), status: 400, text: /tracking_id/ },
    { name: "no meta.time", body: without((b) => delete b.meta.time), status: 400, text: /meta\.time/ },
    { name: "a meta.time that is not a time", body: without((b) => (b.meta.time = "yesterday")), status: 400, text: /meta\.time/ },
    { name: "a meta.time in exponent form", body: () => JSON.stringify(depositCallback(secret)).replace(/"time":"\d+"/, '"time":1.7e9'), status: 400, text: /meta\.time/ },
    { name: "a numeric status written as a fraction", body: () => JSON.stringify(depositCallback(secret)).replace(/"status":2,/, '"status":2.0,'), status: 400, text: /transfer\.attributes\.status/ },
    { name: "a numeric tracking id where text was signed", body: without((b) => (b.data.attributes.tracking_id = 12)), status: 401, text: new RegExp(UNAUTHORIZED) },
    { name: "no meta.sign", body: without((b) => delete b.meta.sign), status: 400, text: /meta\.sign/ },
    { name: "a tampered amount", body: without((b) => (b.included[1].attributes.amount = "30.000000000000000000")), status: 401, text: new RegExp(UNAUTHORIZED) },
    { name: "a tampered status", body: without((b) => (b.included[1].attributes.status = 1)), status: 401, text: new RegExp(UNAUTHORIZED) },
    { name: "a signature in upper case", body: without((b) => (b.meta.sign = b.meta.sign.toUpperCase())), status: 401, text: new RegExp(UNAUTHORIZED) },
    { name: "a 63-character signature", body: without((b) => (b.meta.sign = b.meta.sign.slice(1))), status: 401, text: new RegExp(UNAUTHORIZED) },
    { name: "a multibyte signature", body: without((b) => (b.meta.sign = "é".repeat(32))), status: 401, text: new RegExp(UNAUTHORIZED) },
    { name: "a signature as a number", body: without((b) => (b.meta.sign = 12345)), status: 401, text: new RegExp(UNAUTHORIZED) },
    { name: "an unknown wallet", body: without((b) => (b.data.relationships.wallet.data.id = "999999")), status: 401, text: new RegExp(UNAUTHORIZED) },
    { name: "another account's wallet", body: without((b) => (b.data.relationships.wallet.data.id = OTHER_WALLET)), status: 401, text: new RegExp(UNAUTHORIZED) },
    { name: "a body over 256 KiB", body: () => JSON.stringify({ pad: "x".repeat(300 * 1024) }), status: 413, text: /exceeds/ },
    { name: "a form content type", body: () => depositCallback(secret), headers: { "content-type": "application/x-www-form-urlencoded" }, status: 415, text: /application\/json/ },
    { name: "no content type", body: () => depositCallback(secret), headers: {}, status: 415, text: /application\/json/ },
    { name: "an unknown content encoding", body: () => depositCallback(secret), headers: { "content-type": "application/json", "content-encoding": "compress" }, status: 415, text: /content encoding/ },
    { name: "a gzip body that is not gzip", body: () => depositCallback(secret), headers: { "content-type": "application/json", "content-encoding": "gzip" }, status: 400, text: /could not be read/ },
    { name: "a gzip body over 256 KiB once inflated", body: () => gzipSync(JSON.stringify({ pad: "x".repeat(300 * 1024) })), headers: { "content-type": "application/json", "content-encoding": "gzip" }, status: 413, text: /exceeds/ },
  ];

  it("answers each as documented, stores and publishes none of them, and keeps serving", async () => {
    const subscriber = await ownerSubscriber();
    const before = (await storedEvents()).length;
    for (const { name, body, headers, status, text } of cases) {
      const answer = await postCallback(server.url, body(), headers);
      expect(answer.status, name).toBe(status);
      expect(answer.text, name).toMatch(text);
      expect(answer.text, name).not.toMatch(/node_modules|at \w+ \(/);
    }
    expect(await storedEvents()).toHaveLength(before);
    // The next event the subscriber sees is the valid one sent after all of the above.
    const valid = depositCallback(secret, { trackingId: "after-the-refusals" });
    expect((await postCallback(server.url, valid)).status).toBe(200);
    expect((await subscriber.next()).data!.callbackEvents.trackingId).toBe("after-the-refusals");
    subscriber.dispose();

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    for (const outcome of ["accepted", "malformed", "unauthorized", "too_large", "unsupported_media_type"]) {
      expect(metrics).toMatch(new RegExp(`^callbacks_total\\{outcome="${outcome}"\\} [1-9]`, "m"));
    }
    for (const reason of ["malformed", "kind_mismatch", "unknown_wallet", "bad_signature", "too_large", "unsupported_media_type"]) {
      expect(metrics).toMatch(new RegExp(`^callbacks_refused_total\\{reason="${reason}"\\} [1-9]`, "m"));
    }
  });
});

describe("idempotency", () => {
  it("stores a delivery once: the same content again, a resend with a new meta.time, a replay with altered unsigned fields", async () => {
    const original = depositCallback(secret, { status: 1, trackingId: "idem-1", transferId: "777001" });
    const before = (await storedEvents()).length;
    expect((await postCallback(server.url, original)).status).toBe(200);
    const stored = (await storedEvents()).at(-1)!;

    const resend = resign(original, secret, String(Math.floor(server.clock.now() / 1000) + 60));
    const replays = [
      original,
      resend,
      (() => {
        const body = structuredClone(original) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
        body.data.relationships.wallet.data.id = DEMO_WALLETS.BTC;
        return body;
      })(),
      (() => {
        const body = structuredClone(original) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
        body.included[1].attributes.txid = "0xattacker";
        body.data.attributes.address = "0xattacker";
        body.data.relationships.transfer.data.id = "999999";
        body.included[1].id = "999999";
        return body;
      })(),
    ];
    // The copy moved to the BTC wallet names ETH: refused as such before anything is stored.
    expect(await Promise.all(replays.map(async (body) => (await postCallback(server.url, body)).status))).toEqual([200, 200, 400, 200]);
    const after = await storedEvents();
    expect(after).toHaveLength(before + 1);
    const unchanged = after.at(-1)!;
    expect({ wallet: unchanged.wallet.id, txid: unchanged.txid, transferId: unchanged.transferId }).toEqual({
      wallet: stored.wallet.id,
      txid: stored.txid,
      transferId: "777001",
    });

    // The same transfer moving to a new status is a new event.
    const confirmed = depositCallback(secret, { status: 2, trackingId: "idem-1", transferId: "777001" });
    expect((await postCallback(server.url, confirmed)).status).toBe(200);
    expect(await storedEvents()).toHaveLength(before + 2);
    expect((await storedEvents()).at(-1)!.transferStatus).toBe(2);
  });

  it("stores concurrent deliveries of one callback once", async () => {
    const callback = depositCallback(secret, { trackingId: "race-1" });
    const before = (await storedEvents()).length;
    const answers = await Promise.all(Array.from({ length: 20 }, () => postCallback(server.url, callback)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
    expect(await storedEvents()).toHaveLength(before + 1);
  });
});

describe("who sees which events", () => {
  it("shows viewers the events of the wallets they may see, the API user all of its account, nobody another account's", async () => {
    await postCallback(server.url, depositCallback(secret, { walletId: DEMO_WALLETS.BTC, trackingId: "btc-1" }));
    const walletsSeen = async (email: string) => {
      const result = await execute(server.url, CallbackEventsDocument, { first: 100 }, { token: await server.token(email) });
      return new Set(result.data!.callbackEvents.edges.map((edge) => edge.node.wallet.id));
    };
    expect(await walletsSeen("owner@example.com")).toEqual(new Set([DEMO_WALLETS.ETH, DEMO_WALLETS.BTC]));
    const { token: apiToken } = await apiUserAccess(server);
    const asApiUser = await execute(server.url, CallbackEventsDocument, { first: 100 }, { token: apiToken });
    expect(new Set(asApiUser.data!.callbackEvents.edges.map((edge) => edge.node.wallet.id))).toEqual(
      new Set([DEMO_WALLETS.ETH, DEMO_WALLETS.BTC]),
    );
    expect(await walletsSeen("viewer@example.com")).toEqual(new Set([DEMO_WALLETS.ETH]));
    expect(await walletsSeen("admin@example.com")).toEqual(new Set());
    expect(await walletsSeen("other-owner@example.com")).toEqual(new Set());
  });

  it("filters by wallet, kind and status, and refuses bad filters", async () => {
    const token = await server.token("owner@example.com");
    const btc = await execute(server.url, CallbackEventsDocument, { filter: { walletIds: [DEMO_WALLETS.BTC] } }, { token });
    expect(btc.data!.callbackEvents.edges.map((edge) => edge.node.trackingId)).toEqual(["btc-1"]);
    const payouts = await execute(server.url, CallbackEventsDocument, { filter: { kinds: ["PAYOUT"] } }, { token });
    expect(payouts.data!.callbackEvents.edges).toEqual([]);
    const unconfirmed = await execute(server.url, CallbackEventsDocument, { filter: { statuses: ["UNCONFIRMED"] } }, { token });
    expect(unconfirmed.data!.callbackEvents.edges.map((edge) => edge.node.trackingId)).toEqual(["idem-1"]);
    for (const variables of [
      { filter: { walletIds: ["not a wallet!"] } },
      { filter: { walletIds: Array.from({ length: 51 }, (_, i) => String(i)) } },
      { after: "bm9wZQ" },
      { first: 0 },
    ]) {
      expect(codes(await execute(server.url, CallbackEventsDocument, variables, { token }))).toEqual(["BAD_USER_INPUT"]);
    }
  });
});

describe("when the database is unavailable", () => {
  it("answers 503 with Retry-After so the sender retries, and /readyz goes red", async () => {
    const broken = await startTestServer();
    try {
      const key = await regenerateCallbackSecret(broken);
      await broken.service.db.orm.close(true);
      const answer = await fetch(`${broken.url}/callbacks`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(depositCallback(key)),
      });
      expect(answer.status).toBe(503);
      expect(answer.headers.get("retry-after")).toBe("5");
      expect(await answer.text()).not.toMatch(/node_modules|at \w+ \(/);
      expect((await fetch(`${broken.url}/readyz`)).status).toBe(503);
      expect((await fetch(`${broken.url}/healthz`)).status).toBe(200);
      const metrics = await (await fetch(`${broken.url}/metrics`)).text();
      expect(metrics).toMatch(/^callbacks_total\{outcome="unavailable"\} 1/m);
    } finally {
      await broken.close().catch(() => {});
    }
  });
});

describe("two services in one process", () => {
  it("each verifies its own wallets' callbacks (regression: a process-wide wallet cache mixed them up)", async () => {
    const other = await startTestServer();
    try {
      const otherSecret = await regenerateCallbackSecret(other);
      expect((await postCallback(server.url, depositCallback(secret))).status).toBe(200);
      expect((await postCallback(other.url, depositCallback(otherSecret))).status).toBe(200);
      expect((await postCallback(other.url, depositCallback(secret))).status).toBe(401);
    } finally {
      await other.close();
    }
  });
});

describe("a regeneration on another instance", () => {
  it.runIf(onPostgres)("is seen within a second: the old secret stops verifying there too", async () => {
    const other = await server.sibling();
    const old = secret;
    expect((await postCallback(other.url, depositCallback(old))).status).toBe(200);
    secret = await regenerateCallbackSecret(server);
    // This instance dropped its copy at once; the other may still hold the old secret for up to a second.
    expect((await postCallback(server.url, depositCallback(old))).status).toBe(401);
    server.clock.advance(1_001);
    expect((await postCallback(other.url, depositCallback(old))).status).toBe(401);
    expect((await postCallback(other.url, depositCallback(secret))).status).toBe(200);
  });
});
