import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RetainedKey } from "../src/events/event.entity.js";
import { CallbackEventsDocument, OnCallbackEventDocument, type OnCallbackEventSubscription } from "./generated/graphql.js";
import { depositCallback, postCallback, regenerateCallbackSecret } from "./support/callbacks.js";
import { codes, execute } from "./support/graphql-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";
import { endingErrors, subscribe, wsClient } from "./support/ws-client.js";

const DAY = 24 * 3600_000;

let server: TestServer;
let secret: string;
/** A token valid on the service's clock now (the test moves the clock past earlier ones). */
const token = () => server.token("owner@example.com");

beforeAll(async () => {
  server = await startTestServer({ EVENT_RETENTION_DAYS: "2" });
  secret = await regenerateCallbackSecret(server);
});
afterAll(() => server?.close());

/** A callback signed now by the service's clock (which the test moves). */
const callback = (trackingId: string) => depositCallback(secret, { trackingId, now: () => server.clock.now() });

async function history(after?: string | null) {
  return execute(server.url, CallbackEventsDocument, { first: 100, after }, { token: await token() });
}
const trackingIds = async (after?: string | null) => (await history(after)).data!.callbackEvents.edges.map((edge) => edge.node.trackingId);
const retention = async () =>
  (await execute<{ callbackEventRetention: { days: number | null; earliestCursor: string | null } }, Record<string, never>>(
    server.url,
    "{ callbackEventRetention { days earliestCursor } }",
    {},
    { token: await token() },
  )).data!.callbackEventRetention;

describe("retention (EVENT_RETENTION_DAYS=2), on a clock the test moves", () => {
  let old: Record<string, unknown>[];
  let oldCursor: string;

  it("gives an empty history a cursor to subscribe from, which misses no event stored after it", async () => {
    expect(await trackingIds()).toEqual([]);
    const { earliestCursor } = await retention();
    expect(earliestCursor).not.toBeNull();
    // An event stored after the cursor was read and before the subscription starts is still delivered.
    expect((await postCallback(server.url, callback("first"))).status).toBe(200);
    const client = wsClient(server.url, { token: await token() });
    const subscription = subscribe<OnCallbackEventSubscription>(client, OnCallbackEventDocument, { after: earliestCursor });
    expect((await subscription.next()).data!.callbackEvents.trackingId).toBe("first");
    await client.dispose();
  });

  it("prunes events older than the retention, and keeps the newer ones", async () => {
    old = [callback("old-1"), callback("old-2"), callback("old-3")];
    for (const body of old) expect((await postCallback(server.url, body)).status).toBe(200);
    const page = (await history()).data!.callbackEvents;
    oldCursor = page.edges[0]!.cursor;
    // With nothing pruned, the earliest cursor reads the whole history.
    const { days, earliestCursor: start } = await retention();
    expect(days).toBe(2);
    expect(await trackingIds(start)).toEqual(["first", "old-1", "old-2", "old-3"]);

    server.clock.advance(3 * DAY);
    expect((await postCallback(server.url, callback("new-1"))).status).toBe(200);
    expect(await server.service.retention.pruneOnce()).toBe(4);
    expect(await trackingIds()).toEqual(["new-1"]);
    const { earliestCursor } = await retention();
    expect(earliestCursor).not.toBeNull();
    expect(await trackingIds(earliestCursor)).toEqual(["new-1"]);
    // Nothing more is due.
    expect(await server.service.retention.pruneOnce()).toBe(0);
  });

  it("answers a cursor from before what is kept with CURSOR_EXPIRED, in the history and in a subscription", async () => {
    const page = await history(oldCursor);
    expect(codes(page)).toEqual(["CURSOR_EXPIRED"]);
    expect(page.errors![0]!.extensions).toMatchObject({ earliestCursor: (await retention()).earliestCursor });

    const client = wsClient(server.url, { token: await token() });
    const subscription = subscribe<OnCallbackEventSubscription>(client, OnCallbackEventDocument, { after: oldCursor });
    expect((await endingErrors(subscription)).map((error) => error.code)).toEqual(["CURSOR_EXPIRED"]);
    await client.dispose();
  });

  it("still recognises a redelivery and a resend of a pruned event, while the ingress would take them", async () => {
    const before = await trackingIds();
    // The same body again (signed 3 days ago, inside the 7-day staleness window): a duplicate.
    expect((await postCallback(server.url, old[0])).status).toBe(200);
    // The same state signed again now: a resend.
    const resent = structuredClone(old[1]!) as { meta: { time: string; sign: string } };
    const body = depositCallback(secret, {
      trackingId: "old-2",
      transferId: (old[1] as { data: { relationships: { transfer: { data: { id: string } } } } }).data.relationships.transfer.data.id,
      operationId: (old[1] as { data: { id: string } }).data.id,
      now: () => server.clock.now(),
    });
    expect(resent.meta.time).not.toBe((body as { meta: { time: string } }).meta.time);
    expect((await postCallback(server.url, body)).status).toBe(200);
    expect(await trackingIds()).toEqual(before);
  });

  it("drops the retained keys once the staleness window and 7 days have passed", async () => {
    const kept = (await server.em().find(RetainedKey, {})).map((row) => row.key);
    expect(kept).toHaveLength(8);
    server.clock.advance(15 * DAY);
    // This run prunes the newer event too, and keeps its keys; those of the old ones are past their time.
    expect(await server.service.retention.pruneOnce()).toBe(1);
    const left = (await server.em().find(RetainedKey, {})).map((row) => row.key);
    expect(left).toHaveLength(2);
    expect(left.filter((key) => kept.includes(key))).toEqual([]);
    // A redelivery that old is refused as stale anyway: nothing is stored.
    expect((await postCallback(server.url, old[2])).status).toBe(400);
  });
});

describe("with the staleness window off (CALLBACK_MAX_AGE_SECONDS=0)", () => {
  it("keeps the pruned events' keys for good", async () => {
    const lenient = await startTestServer({ EVENT_RETENTION_DAYS: "1", CALLBACK_MAX_AGE_SECONDS: "0" });
    try {
      const key = await regenerateCallbackSecret(lenient);
      const body = depositCallback(key, { trackingId: "kept-key", now: () => lenient.clock.now() });
      expect((await postCallback(lenient.url, body)).status).toBe(200);
      lenient.clock.advance(400 * DAY);
      expect(await lenient.service.retention.pruneOnce()).toBe(1);
      const retained = await lenient.em().find(RetainedKey, {});
      expect(retained).toHaveLength(2);
      expect(retained.every((row) => row.expiresAt === null)).toBe(true);
      expect((await postCallback(lenient.url, body)).status).toBe(200);
      const owner = await lenient.token("owner@example.com");
      const page = await execute(lenient.url, CallbackEventsDocument, { first: 10 }, { token: owner });
      expect(page.data!.callbackEvents.edges).toEqual([]);
    } finally {
      await lenient.close();
    }
  });
});
