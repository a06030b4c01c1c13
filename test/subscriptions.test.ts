import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Account } from "../src/access/account.entity.js";
import { eventOf, parseCallback } from "../src/callbacks/callback-payload.js";
import {
  OnCallbackEventDocument,
  SetApiUserActiveDocument,
  type OnCallbackEventSubscription,
} from "./generated/graphql.js";
import { depositCallback, headCursor, postCallback, regenerateCallbackSecret } from "./support/callbacks.js";
import { onPostgres } from "./support/database.js";
import { ownerRevokes } from "./support/access.js";
import { DEMO_WALLETS } from "./support/fixtures.js";
import { execute } from "./support/graphql-client.js";
import { apiUserAccess } from "./support/api-user.js";
import { endingErrors, subscribe, wsClient, type QueuedSubscription } from "./support/ws-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

type Event = OnCallbackEventSubscription["callbackEvents"];

let server: TestServer;
let secret: string;
const disposables: { dispose(): void | Promise<void> }[] = [];

beforeAll(async () => {
  // Polling is slowed down so that deliveries across instances can only come from notifications.
  server = await startTestServer({ SUBSCRIPTION_SEND_TIMEOUT_MS: "500", EVENT_POLL_MS: "60000" });
  secret = await regenerateCallbackSecret(server);
});
afterAll(async () => {
  for (const disposable of disposables) await disposable.dispose();
  await server?.close();
});

async function ownerSubscription(url: string, after: string | null): Promise<QueuedSubscription<OnCallbackEventSubscription>> {
  const client = wsClient(url, { token: await server.token("owner@example.com") });
  disposables.push(client);
  return subscribe<OnCallbackEventSubscription>(client, OnCallbackEventDocument, { after });
}

async function take(subscription: QueuedSubscription<OnCallbackEventSubscription>, count: number): Promise<Event[]> {
  const events: Event[] = [];
  while (events.length < count) {
    const result = await subscription.next(10_000);
    expect(result.errors).toBeUndefined();
    events.push(result.data!.callbackEvents);
  }
  return events;
}

/** Posts `count` callbacks, `concurrency` at a time, spread over the given instances. */
async function ingest(urls: string[], count: number, concurrency: number, prefix: string): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (next < count) {
        const index = next++;
        const url = urls[(index + worker) % urls.length]!;
        const answer = await postCallback(url, depositCallback(secret, { trackingId: `${prefix}-${index}` }));
        expect(answer.status).toBe(200);
      }
    }),
  );
}

/** Polls a condition until it holds, failing after a deadline. */
async function waitFor(condition: () => Promise<boolean>, deadlineMs = 20_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error("condition not met before the deadline");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Stores verified events straight through the event store (as the ingress does after verifying) and notifies. */
async function storeDirectly(target: TestServer, key: string, count: number, prefix: string): Promise<void> {
  const accountId = (await target.em().findOneOrFail(Account, { name: "Demo Merchant" })).id;
  const { feed, events } = target.service;
  for (let index = 0; index < count; index++) {
    const body = depositCallback(key, { trackingId: `${prefix}-${index}` });
    const result = await events.write(eventOf(parseCallback(body, JSON.stringify(body)), { accountId, currency: "ETH", payload: JSON.stringify(body), receivedAt: new Date() }));
    if (result.stored) feed.advance(accountId, result.sequence);
  }
}

/** Subscribers started at many points while writers run in parallel must each see exactly the suffix after their cursor. */
async function resumeUnderParallelWriters(urls: string[], prefix: string) {
  const total = 60;
  const start = await headCursor(server, secret);
  const main = await ownerSubscription(urls[0]!, start);
  const seen: Event[] = [];
  const resumers: { after: string; subscription: QueuedSubscription<OnCallbackEventSubscription> }[] = [];

  const writing = ingest(urls, total, 8, prefix);
  let writingDone = false;
  void writing.finally(() => (writingDone = true));
  while (seen.length < total) {
    seen.push(...(await take(main, 1)));
    if (!writingDone && seen.length % 5 === 0) {
      const after = seen.at(-1)!.cursor;
      resumers.push({ after, subscription: await ownerSubscription(urls[resumers.length % urls.length]!, after) });
    }
  }
  await writing;

  const ids = seen.map((event) => event.id);
  expect(new Set(ids).size).toBe(total);
  expect(seen.map((event) => event.trackingId).sort()).toEqual(
    Array.from({ length: total }, (_, index) => `${prefix}-${index}`).sort(),
  );
  expect(resumers.length).toBeGreaterThan(0);
  for (const { after, subscription } of resumers) {
    const expected = ids.slice(ids.indexOf(seen.find((event) => event.cursor === after)!.id) + 1);
    expect((await take(subscription, expected.length)).map((event) => event.id)).toEqual(expected);
    subscription.dispose();
  }
  // And from every point of the finished stream.
  for (let index = 0; index < seen.length; index += 7) {
    const resumed = await ownerSubscription(urls[index % urls.length]!, seen[index]!.cursor);
    expect((await take(resumed, total - index - 1)).map((event) => event.id)).toEqual(ids.slice(index + 1));
    resumed.dispose();
  }
  main.dispose();
}

describe("resume by cursor", () => {
  it("replays then continues live with no gap and no duplicate while parallel writers keep going", async () => {
    await resumeUnderParallelWriters([server.url], "one");
  });

  it.runIf(onPostgres)("does so across two instances on one database: events reach subscribers on every instance", async () => {
    const second = await server.sibling();
    const start = await headCursor(server, secret);
    const onSecond = await ownerSubscription(second.url, start);
    expect((await postCallback(server.url, depositCallback(secret, { trackingId: "cross-instance" }))).status).toBe(200);
    expect((await take(onSecond, 1))[0]!.trackingId).toBe("cross-instance");
    onSecond.dispose();
    await resumeUnderParallelWriters([server.url, second.url], "two");
  });
});

describe("access ends: the subscription ends with a coded error within 5 seconds", () => {
  it("ends a viewer's subscription when their wallet access is revoked (FORBIDDEN); the socket stays open", async () => {
    const viewerClient = wsClient(server.url, { token: await server.token("viewer@example.com") });
    disposables.push(viewerClient);
    const subscription = subscribe<OnCallbackEventSubscription>(viewerClient, OnCallbackEventDocument, {
      after: await headCursor(server, secret),
    });
    expect((await postCallback(server.url, depositCallback(secret, { trackingId: "before-revoke" }))).status).toBe(200);
    expect((await take(subscription, 1))[0]!.trackingId).toBe("before-revoke");

    const revokedAt = Date.now();
    await ownerRevokes(server, "viewer@example.com", DEMO_WALLETS.ETH);
    expect(await endingErrors(subscription)).toEqual([{ message: "Access changed: subscribe again", code: "FORBIDDEN" }]);
    expect(Date.now() - revokedAt).toBeLessThan(5000);
    // The token is still good: the socket stays open for what the viewer may still do.
    const open = await Promise.race([viewerClient.closed.then(() => false), new Promise((resolve) => setTimeout(() => resolve(true), 1500))]);
    expect(open).toBe(true);
  });

  it("ends the API user's subscription when the API user is deactivated (UNAUTHENTICATED), then closes its socket with 4401", async () => {
    const owner = await server.token("owner@example.com");
    const { token: apiToken } = await apiUserAccess(server);
    const apiClient = wsClient(server.url, { token: apiToken });
    disposables.push(apiClient);
    const subscription = subscribe<OnCallbackEventSubscription>(apiClient, OnCallbackEventDocument, {
      after: await headCursor(server, secret),
    });
    expect((await postCallback(server.url, depositCallback(secret, { trackingId: "api-live" }))).status).toBe(200);
    expect((await take(subscription, 1))[0]!.trackingId).toBe("api-live");

    const deactivatedAt = Date.now();
    await execute(server.url, SetApiUserActiveDocument, { input: { active: false, confirmation: server.confirmation() } }, { token: owner });
    expect((await endingErrors(subscription)).map((error) => error.code)).toEqual(["UNAUTHENTICATED"]);
    expect((await apiClient.closed).code).toBe(4401);
    expect(Date.now() - deactivatedAt).toBeLessThan(5000);
  });

  it("ends a subscription when its token expires (UNAUTHENTICATED), then closes its socket with 4401", async () => {
    const shortLived = await server.service.tokens.sign(await server.userId("owner@example.com"), 2);
    const client = wsClient(server.url, { token: shortLived });
    disposables.push(client);
    const subscription = subscribe<OnCallbackEventSubscription>(client, OnCallbackEventDocument, { after: await headCursor(server, secret) });
    const openedAt = Date.now();
    expect(await endingErrors(subscription)).toEqual([{ message: "Token expired", code: "UNAUTHENTICATED" }]);
    const closed = await client.closed;
    expect(closed.code).toBe(4401);
    expect(Date.now() - openedAt).toBeLessThan(2000 + 5000);
  });
});

describe("a slow consumer", () => {
  it("ends with SLOW_CONSUMER after what was sent, and resumes from its last cursor with nothing lost or doubled", async () => {
    // Large events (1,000 aliased fields each) fill the socket buffers of a client that stopped reading quickly.
    const slow = await startTestServer({ SUBSCRIPTION_SEND_TIMEOUT_MS: "500", GRAPHQL_MAX_ALIASES: "1000" });
    disposables.push({ dispose: () => slow.close() });
    const slowSecret = await regenerateCallbackSecret(slow);
    const start = await headCursor(slow, slowSecret);
    const padding = Array.from({ length: 1000 }, (_, index) => `t${index}: txid`).join(" ");
    const query = `subscription($after: String) { callbackEvents(after: $after) { id cursor trackingId ${padding} } }`;

    const socket = new WebSocket(slow.url.replace(/^http/, "ws") + "/graphql", "graphql-transport-ws");
    const received: { id: string; cursor: string; trackingId: string }[] = [];
    const afterEnd: unknown[] = [];
    let resolveEnded: (payload: { extensions?: { code?: string } }[]) => void;
    const ended = new Promise<{ extensions?: { code?: string } }[]>((resolve) => (resolveEnded = resolve));
    let endedAlready = false;
    const acknowledged = new Promise<void>((resolve) =>
      socket.on("message", (data) => {
        const message = JSON.parse(String(data));
        if (endedAlready) afterEnd.push(message);
        if (message.type === "connection_ack") resolve();
        if (message.type === "next" && message.payload.errors) {
          endedAlready = true;
          resolveEnded(message.payload.errors);
        } else if (message.type === "next") received.push(message.payload.data.callbackEvents);
      }),
    );
    await new Promise((resolve) => socket.once("open", resolve));
    socket.send(JSON.stringify({ type: "connection_init", payload: { token: await slow.token("owner@example.com") } }));
    await acknowledged;
    socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables: { after: start } } }));
    // Stop reading: once the socket buffers are full, the server's next send cannot complete.
    socket.pause();

    const total = 400;
    await storeDirectly(slow, slowSecret, total, "slow");
    // Once the server has given up on the stalled subscription, read again: what was buffered arrives, then the
    // error, and nothing after it; the socket stays open.
    await waitFor(async () =>
      /^subscriptions_ended_total\{code="SLOW_CONSUMER"\} 1/m.test(await (await fetch(`${slow.url}/metrics`)).text()),
    );
    socket.resume();
    expect((await ended).map((error) => error.extensions?.code)).toEqual(["SLOW_CONSUMER"]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(afterEnd).toEqual([{ id: "1", type: "complete" }]);
    expect(socket.readyState).toBe(WebSocket.OPEN);
    socket.close();
    expect(received.length).toBeGreaterThan(0);
    expect(received.length).toBeLessThan(total);

    const client = wsClient(slow.url, { token: await slow.token("owner@example.com") });
    disposables.push(client);
    const resumed = subscribe<OnCallbackEventSubscription>(client, OnCallbackEventDocument, { after: received.at(-1)!.cursor });
    const rest = await take(resumed, total - received.length);
    const all = [...received, ...rest].map((event) => event.trackingId);
    expect(all).toEqual(Array.from({ length: total }, (_, index) => `slow-${index}`));
    resumed.dispose();
  }, 60_000);
});
