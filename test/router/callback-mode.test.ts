import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDepositsSubgraph } from "../fixtures/deposits-subgraph.js";
import { depositCallback, headCursor, postCallback, regenerateCallbackSecret } from "../support/callbacks.js";
import { compose, subgraphsOfSupergraphYaml } from "../support/gateway.js";
import { startHiveGateway } from "../support/hive-gateway.js";
import { subscribe, wsClient } from "../support/ws-client.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { ownerRevokes } from "../support/access.js";
import { DEMO_WALLETS } from "../support/fixtures.js";

interface CallbackMessage {
  kind: string;
  action: "check" | "next" | "complete";
  id: string;
  verifier: string;
  payload?: { data?: { callbackEvents?: { trackingId: string } } };
  errors?: unknown[];
}

const SUBSCRIPTION = "subscription($after: String) { callbackEvents(after: $after) { trackingId wallet { id } } }";

let server: TestServer;
let secret: string;

beforeAll(async () => {
  server = await startTestServer();
  secret = await regenerateCallbackSecret(server);
});
afterAll(() => server?.close());

/** A router's callback endpoint: records every message, with its arrival time, and answers as the protocol says. */
async function callbackReceiver(answer: (message: CallbackMessage) => number = (message) => (message.action === "check" ? 204 : 200)) {
  const messages: (CallbackMessage & { at: number })[] = [];
  const waiters: (() => void)[] = [];
  const receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      const message = JSON.parse(body) as CallbackMessage;
      messages.push({ ...message, at: Date.now() });
      res.statusCode = answer(message);
      res.setHeader("subscription-protocol", "callback/1.0");
      res.end();
      for (const wake of waiters.splice(0)) wake();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/callback`;
  /** Waits, with a deadline, until a message matching the predicate has arrived. */
  const waitFor = async (predicate: (message: CallbackMessage) => boolean, deadlineMs = 10_000) => {
    const until = Date.now() + deadlineMs;
    for (;;) {
      const found = messages.find(predicate);
      if (found) return found;
      if (Date.now() > until) throw new Error(`no such callback message; got ${JSON.stringify(messages)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  };
  return { url, messages, waitFor, close: () => new Promise((resolve) => receiver.close(resolve)) };
}

async function startCallbackSubscription(callbackUrl: string, id: string, token: string | undefined, heartbeatIntervalMs: number) {
  return fetch(`${server.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({
      query: SUBSCRIPTION,
      variables: { after: await headCursor(server, secret) },
      extensions: { subscription: { callbackUrl, subscriptionId: id, verifier: `verifier-${id}`, heartbeatIntervalMs } },
    }),
  });
}

/** Waits for a probe event on a graphql-ws subscriber: proof that the events posted before it were delivered. */
async function probeDelivery(trackingId: string): Promise<void> {
  const client = wsClient(server.url, { token: await server.token("owner@example.com") });
  try {
    const live = subscribe<{ callbackEvents: { trackingId: string } }>(client, SUBSCRIPTION, { after: await headCursor(server, secret) });
    await postCallback(server.url, depositCallback(secret, { trackingId }));
    expect((await live.next()).data!.callbackEvents.trackingId).toBe(trackingId);
  } finally {
    await client.dispose();
  }
}

/** Posts an event and a probe after it: the receiver gets no `next` for either (the probe proves delivery ran). */
async function expectNothingMoreSent(receiver: { messages: CallbackMessage[] }, trackingId: string): Promise<void> {
  const before = receiver.messages.length;
  await postCallback(server.url, depositCallback(secret, { trackingId }));
  await probeDelivery(`probe-${trackingId}`);
  expect(receiver.messages.slice(before).filter((message) => message.action === "next")).toEqual([]);
}

describe("Apollo Router's HTTP callback protocol, spoken by the test", () => {
  it("answers at once, checks the callback URL, posts events, and heartbeats within the router's window", async () => {
    const receiver = await callbackReceiver();
    try {
      const response = await startCallbackSubscription(receiver.url, "sub-1", await server.token("owner@example.com"), 1000);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ data: null });
      const check = await receiver.waitFor((message) => message.action === "check");
      expect(check).toMatchObject({ kind: "subscription", id: "sub-1", verifier: "verifier-sub-1" });

      expect((await postCallback(server.url, depositCallback(secret, { trackingId: "over-callback" }))).status).toBe(200);
      const next = await receiver.waitFor((message) => message.action === "next");
      expect(next).toMatchObject({ id: "sub-1", verifier: "verifier-sub-1", payload: { data: { callbackEvents: { trackingId: "over-callback" } } } });

      // Heartbeats come at half the 1 s interval asked for: never a gap the router would time out on.
      const started = check.at;
      await receiver.waitFor((message) => message.action === "check" && (message as { at?: number }).at! > started + 1500);
      const checks = receiver.messages.filter((message) => message.action === "check").map((message) => message.at);
      const gaps = checks.slice(1).map((at, index) => at - checks[index]!);
      expect(gaps.length).toBeGreaterThanOrEqual(2);
      expect(Math.max(...gaps)).toBeLessThan(1000);
    } finally {
      await receiver.close();
    }
  });

  it("stops when the router no longer knows the subscription (404 to a check)", async () => {
    let known = true;
    const receiver = await callbackReceiver((message) => (message.action === "check" ? (known ? 204 : 404) : 200));
    try {
      await startCallbackSubscription(receiver.url, "sub-2", await server.token("owner@example.com"), 400);
      await receiver.waitFor((message) => message.action === "check");
      known = false;
      const forgottenAt = Date.now();
      await receiver.waitFor(() => Date.now() > forgottenAt + 800);
      await expectNothingMoreSent(receiver, "after-forgotten");
    } finally {
      await receiver.close();
    }
  });

  it("refuses an unauthenticated subscription: 401 and no event ever sent", async () => {
    const receiver = await callbackReceiver();
    try {
      const response = await startCallbackSubscription(receiver.url, "sub-3", undefined, 1000);
      expect(response.status).toBe(401);
      await probeDelivery("not-for-anonymous");
      expect(receiver.messages.filter((message) => message.action === "next" && message.payload?.data)).toEqual([]);
    } finally {
      await receiver.close();
    }
  });
});

describe("access ends: a callback subscription completes with an error within 5 seconds, as a socket would close", () => {
  it("ends a viewer's subscription when their wallet access is revoked (FORBIDDEN), and sends nothing after", async () => {
    const receiver = await callbackReceiver();
    try {
      await startCallbackSubscription(receiver.url, "sub-revoked", await server.token("viewer@example.com"), 1000);
      await receiver.waitFor((message) => message.action === "check");
      expect((await postCallback(server.url, depositCallback(secret, { trackingId: "before-revoke" }))).status).toBe(200);
      await receiver.waitFor((message) => message.payload?.data?.callbackEvents?.trackingId === "before-revoke");

      const revokedAt = Date.now();
      await ownerRevokes(server, "viewer@example.com", DEMO_WALLETS.ETH);
      const complete = await receiver.waitFor((message) => message.action === "complete");
      expect(Date.now() - revokedAt).toBeLessThan(5000);
      expect(complete).toMatchObject({ id: "sub-revoked", verifier: "verifier-sub-revoked" });
      expect(complete.errors).toEqual([expect.objectContaining({ message: "Access changed: subscribe again", extensions: { code: "FORBIDDEN" } })]);

      await expectNothingMoreSent(receiver, "after-revoke");
    } finally {
      await receiver.close();
    }
  });

  it("ends a subscription when its token expires (UNAUTHENTICATED)", async () => {
    const receiver = await callbackReceiver();
    try {
      const shortLived = await server.service.tokens.sign(await server.userId("owner@example.com"), 2);
      const startedAt = Date.now();
      await startCallbackSubscription(receiver.url, "sub-expired", shortLived, 1000);
      const complete = await receiver.waitFor((message) => message.action === "complete", 10_000);
      expect(Date.now() - startedAt).toBeLessThan(2000 + 5000);
      expect(complete.errors).toEqual([expect.objectContaining({ message: "Token expired", extensions: { code: "UNAUTHENTICATED" } })]);

      await expectNothingMoreSent(receiver, "after-expiry");
    } finally {
      await receiver.close();
    }
  });
});

describe("through the Hive Gateway's HTTP callback transport", () => {
  it("delivers a signed callback to a subscriber of the gateway", async () => {
    const deposits = await startDepositsSubgraph();
    const composition = compose(subgraphsOfSupergraphYaml({ access: `${server.url}/graphql`, deposits: deposits.url }));
    const gateway = await startHiveGateway(composition.supergraphSdl!, "http-callback");
    const client = wsClient(gateway.url, { token: await server.token("owner@example.com") });
    try {
      const subscription = subscribe<{ callbackEvents: { trackingId: string; wallet: { id: string; deposits: { id: string }[] } } }>(
        client,
        "subscription($after: String) { callbackEvents(after: $after) { trackingId wallet { id deposits { id } } } }",
        { after: await headCursor(server, secret) },
      );
      // The subscription is live once the gateway's callback endpoint has been checked; keep posting until it is.
      let received: { trackingId: string } | undefined;
      for (let attempt = 0; attempt < 50 && !received; attempt++) {
        await postCallback(server.url, depositCallback(secret, { trackingId: `via-callback-${attempt}` }));
        received = await subscription.next(200).then((result) => result.data?.callbackEvents, () => undefined);
      }
      expect(received?.trackingId).toMatch(/^via-callback-/);
      expect(received).toMatchObject({ wallet: { id: "10001", deposits: [{ id: "d-1" }, { id: "d-3" }] } });
      // Heartbeats keep it alive past the gateway's 2 s window.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      await postCallback(server.url, depositCallback(secret, { trackingId: "still-alive" }));
      let last = received!.trackingId;
      while (last !== "still-alive") last = (await subscription.next(5000)).data!.callbackEvents.trackingId;
      expect(last).toBe("still-alive");
    } finally {
      await client.dispose();
      await gateway.stop();
      await deposits.stop();
    }
  });
});
