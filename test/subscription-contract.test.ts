import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { depositCallback, headCursor, postCallback, regenerateCallbackSecret } from "./support/callbacks.js";
import { defaultClient, endingErrors, subscribe, wsClient, type QueuedSubscription } from "./support/ws-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

/**
 * docs/subscriptions.md: every subscription the server refuses or ends gets one last result carrying a coded
 * error, then `complete`, and nothing after it; a socket closes only with a code clients do not retry. Checked
 * with graphql-ws's default client options (lazy, retries on), as dashboards and routers run it.
 */
const EVENTS = "subscription($after: String) { callbackEvents(after: $after) { cursor trackingId } }";
type Event = { callbackEvents: { cursor: string; trackingId: string } };

let server: TestServer;
let secret: string;
const clients: { dispose(): void | Promise<void> }[] = [];

beforeAll(async () => {
  server = await startTestServer();
  secret = await regenerateCallbackSecret(server);
});
afterAll(async () => {
  for (const client of clients) await client.dispose();
  await server?.close();
});

function client(url: string, token?: string) {
  const created = defaultClient(url, token === undefined ? {} : { token });
  clients.push(created);
  return created;
}

async function events(subscription: QueuedSubscription<Event>, count: number): Promise<Event["callbackEvents"][]> {
  const received: Event["callbackEvents"][] = [];
  while (received.length < count) {
    const result = await subscription.next(10_000);
    expect(result.errors).toBeUndefined();
    received.push(result.data!.callbackEvents);
  }
  return received;
}

const post = async (url: string, trackingId: string) => expect((await postCallback(url, depositCallback(secret, { trackingId }))).status).toBe(200);

/** Nothing more arrives on an ended subscription, however long its client keeps retrying. */
async function expectNothingMore(subscription: QueuedSubscription<Event>): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(subscription.queued()).toBe(0);
}

describe("the subscription-ending contract, with default client options", () => {
  it("refuses an anonymous subscriber at once with UNAUTHENTICATED (no retries to wait through)", async () => {
    const startedAt = Date.now();
    const anonymous = subscribe<Event>(client(server.url), EVENTS, { after: await headCursor(server, secret) });
    expect(await endingErrors(anonymous)).toEqual([{ message: "Authentication required: send a valid bearer token", code: "UNAUTHENTICATED" }]);
    expect(Date.now() - startedAt).toBeLessThan(3000);
  });

  it("ends at token expiry with UNAUTHENTICATED: no event twice, and resuming with a new token gives exactly the missed events", async () => {
    const shortLived = await server.service.tokens.sign(await server.userId("owner@example.com"), 3);
    const expiring = client(server.url, shortLived);
    const subscription = subscribe<Event>(expiring, EVENTS, { after: await headCursor(server, secret) });
    await post(server.url, "expiry-1");
    const [first] = await events(subscription, 1);
    expect(first!.trackingId).toBe("expiry-1");
    expect(await endingErrors(subscription)).toEqual([{ message: "Token expired", code: "UNAUTHENTICATED" }]);
    await post(server.url, "expiry-2");
    await post(server.url, "expiry-3");
    await expectNothingMore(subscription);

    const resumed = subscribe<Event>(client(server.url, await server.token("owner@example.com")), EVENTS, { after: first!.cursor });
    expect((await events(resumed, 2)).map((event) => event.trackingId)).toEqual(["expiry-2", "expiry-3"]);
    await expectNothingMore(resumed);
  });

  it("ends with SHUTTING_DOWN when an instance stops, closes with 1001, and the subscriber resumes elsewhere with exactly the missed events", async () => {
    const stopping = await server.sibling();
    const token = await server.token("owner@example.com");
    const after = await headCursor(server, secret);
    const subscriber = client(stopping.url, token);
    const subscription = subscribe<Event>(subscriber, EVENTS, { after });
    // A client that keeps its socket open sees how the server closes it.
    const watcher = wsClient(stopping.url, { token });
    clients.push(watcher);
    const watched = subscribe<Event>(watcher, EVENTS, { after });
    await post(server.url, "shutdown-1");
    const [first] = await events(subscription, 1);
    expect(first!.trackingId).toBe("shutdown-1");
    expect((await events(watched, 1))[0]!.trackingId).toBe("shutdown-1");

    await stopping.close();
    expect(await endingErrors(subscription)).toEqual([
      { message: "The server is shutting down: resume from the last cursor received", code: "SHUTTING_DOWN" },
    ]);
    expect((await endingErrors(watched)).map((error) => error.code)).toEqual(["SHUTTING_DOWN"]);
    expect((await watcher.closed).code).toBe(1001);
    await post(server.url, "shutdown-2");
    const resumed = subscribe<Event>(client(server.url, token), EVENTS, { after: first!.cursor });
    expect((await events(resumed, 1)).map((event) => event.trackingId)).toEqual(["shutdown-2"]);
    await expectNothingMore(subscription);
    // The client saw its socket closed only with codes it does not retry, or by itself.
    expect(subscriber.closes.every((code) => [1000, 1001].includes(code))).toBe(true);
  });
});
