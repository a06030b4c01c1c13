import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { depositCallback, headCursor, postCallback, regenerateCallbackSecret } from "../support/callbacks.js";
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

/**
 * A router's callback endpoint: one listener for the whole file (its origin is the one the server allows), each
 * receiver on a path of its own, recording every message with its arrival time and answering as the protocol says.
 */
const routes = new Map<string, (req: http.IncomingMessage, res: http.ServerResponse) => void>();
/** A path no receiver listens on is a subscription the router does not know: 404, as the protocol says. */
const routerEndpoint = http.createServer((req, res) => {
  requestsReceived += 1;
  const route = routes.get(req.url ?? "");
  if (route) return route(req, res);
  req.resume();
  res.statusCode = 404;
  res.end();
});
let routerOrigin: string;
let receivers = 0;
/** Every request the endpoint got, on any path: what a refused request must not add to. */
let requestsReceived = 0;

let server: TestServer;
let secret: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => routerEndpoint.listen(0, "127.0.0.1", resolve));
  routerOrigin = `http://127.0.0.1:${(routerEndpoint.address() as AddressInfo).port}`;
  server = await startTestServer({
    TRUSTED_PROXIES: "127.0.0.1",
    SUBSCRIPTION_CALLBACK_ORIGINS: routerOrigin,
    SUBSCRIPTION_CALLBACK_MIN_HEARTBEAT_MS: "400",
  });
  secret = await regenerateCallbackSecret(server);
});
afterAll(async () => {
  await server?.close();
  routerEndpoint.closeAllConnections();
  await new Promise((resolve) => routerEndpoint.close(resolve));
});

async function callbackReceiver(answer: (message: CallbackMessage) => number = (message) => (message.action === "check" ? 204 : 200)) {
  const messages: (CallbackMessage & { at: number })[] = [];
  const waiters: (() => void)[] = [];
  const path = `/callback/${++receivers}`;
  routes.set(path, (req, res) => {
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
  const url = `${routerOrigin}${path}`;
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
  return { url, messages, waitFor, close: async () => void routes.delete(path) };
}

/** Posts a callback-mode subscription as a router does, from `localAddress` (the trusted router by default). */
async function startCallbackSubscription(
  callbackUrl: string,
  id: string,
  token: string | undefined,
  heartbeatIntervalMs: number,
  localAddress = "127.0.0.1",
  target = server.url,
): Promise<{ status: number; body: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } }> {
  const body = JSON.stringify({
    query: SUBSCRIPTION,
    variables: { after: await headCursor(server, secret) },
    extensions: { subscription: { callbackUrl, subscriptionId: id, verifier: `verifier-${id}`, heartbeatIntervalMs } },
  });
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${target}/graphql`,
      {
        method: "POST",
        localAddress,
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      },
      (response) => {
        let text = "";
        response.on("data", (chunk) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode!, body: JSON.parse(text) }));
      },
    );
    request.on("error", reject);
    request.end(body);
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
      expect(response).toEqual({ status: 200, body: { data: null } });
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

});

describe("callback mode is no open relay: a refused subscription sends nothing anywhere", () => {
  const elsewhere = http.createServer();
  let elsewhereUrl: string;
  let elsewhereRequests = 0;
  beforeAll(async () => {
    elsewhere.on("request", (_req, res) => {
      elsewhereRequests += 1;
      res.end();
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, "127.0.0.1", resolve));
    elsewhereUrl = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/callback`;
  });
  afterAll(() => new Promise((resolve) => elsewhere.close(resolve)));

  it.each([
    ["anonymous", 401, "UNAUTHENTICATED", { token: false }],
    ["from an address that is not a trusted router", 403, "FORBIDDEN", { localAddress: "127.0.0.2" }],
    ["to a URL off the allowed origins", 403, "FORBIDDEN", { url: "elsewhere" }],
    ["to an allowed host on another port", 403, "FORBIDDEN", { url: "other-port" }],
    ["asking for heartbeats below the floor", 400, "BAD_USER_INPUT", { heartbeatIntervalMs: 100 }],
    ["with a heartbeat that is no number", 400, "BAD_USER_INPUT", { heartbeatIntervalMs: "5000" as unknown as number }],
  ] as const)("%s: refused with %s %s, and no request leaves", async (_name, status, code, attempt) => {
    const receivedBefore = requestsReceived;
    const elsewhereBefore = elsewhereRequests;
    const callbackUrl =
      "url" in attempt
        ? attempt.url === "elsewhere"
          ? elsewhereUrl
          : `${routerOrigin.replace(/:\d+$/, "")}:${new URL(elsewhereUrl).port}/callback`
        : `${routerOrigin}/callback/refused`;
    const token = "token" in attempt ? undefined : await server.token("owner@example.com");
    const response = await startCallbackSubscription(
      callbackUrl,
      "refused",
      token,
      "heartbeatIntervalMs" in attempt ? attempt.heartbeatIntervalMs : 1000,
      "localAddress" in attempt ? attempt.localAddress : "127.0.0.1",
    );
    expect(response.status).toBe(status);
    expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual([code]);
    // Events keep flowing meanwhile; a refused subscription would have had a `check` and heartbeats out by now.
    await probeDelivery(`after-refusal-${status}-${code}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(requestsReceived - receivedBefore).toBe(0);
    expect(elsewhereRequests - elsewhereBefore).toBe(0);
  });

  it("is off unless origins are configured: a trusted router with a valid token is refused, and nothing is sent", async () => {
    const off = await startTestServer({ TRUSTED_PROXIES: "127.0.0.1" }, { testAccounts: false });
    try {
      const receivedBefore = requestsReceived;
      const response = await fetch(`${off.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${await off.token("owner@example.com")}` },
        body: JSON.stringify({
          query: SUBSCRIPTION,
          extensions: { subscription: { callbackUrl: `${routerOrigin}/callback/off`, subscriptionId: "off", verifier: "v", heartbeatIntervalMs: 5000 } },
        }),
      });
      expect(response.status).toBe(403);
      expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe("FORBIDDEN");
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(requestsReceived - receivedBefore).toBe(0);
    } finally {
      await off.close();
    }
  });

  it("refuses a subscription over HTTP without callback mode, with a code", async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${await server.token("owner@example.com")}` },
      body: JSON.stringify({ query: SUBSCRIPTION }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe("BAD_REQUEST");
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

describe("the server stops: a callback subscription completes with SHUTTING_DOWN", () => {
  it("sends `complete` with the coded error, then nothing", async () => {
    const receiver = await callbackReceiver();
    try {
      const stopping = await server.sibling();
      await startCallbackSubscription(receiver.url, "sub-stopping", await server.token("owner@example.com"), 1000, "127.0.0.1", stopping.url);
      await receiver.waitFor((message) => message.action === "check");
      await stopping.close();
      const complete = await receiver.waitFor((message) => message.action === "complete");
      expect(complete.errors).toEqual([expect.objectContaining({ extensions: { code: "SHUTTING_DOWN" } })]);
      await expectNothingMoreSent(receiver, "after-stop");
      const sent = receiver.messages.length;
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect(receiver.messages.length).toBe(sent);
    } finally {
      await receiver.close();
    }
  });
});
