import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CallbackEvent } from "../../src/events/event.entity.js";
import { OnCallbackEventDocument, type OnCallbackEventSubscription } from "../generated/graphql.js";
import { depositCallback, headCursor, postCallback, regenerateCallbackSecret } from "../support/callbacks.js";
import { subscribe, wsClient } from "../support/ws-client.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

let server: TestServer;
let secret: string;

beforeAll(async () => {
  server = await startTestServer({ LOG_LEVEL: "warn" });
  secret = await regenerateCallbackSecret(server);
});
afterAll(() => server?.close());

type Json = Record<string, unknown>;
/** Paths of the fields a callback carries, each removed or replaced in turn by the generators. */
const FIELD_PATHS = [
  ["data"],
  ["data", "type"],
  ["data", "id"],
  ["data", "attributes"],
  ["data", "attributes", "tracking_id"],
  ["data", "relationships"],
  ["data", "relationships", "wallet"],
  ["data", "relationships", "wallet", "data", "id"],
  ["data", "relationships", "transfer", "data", "id"],
  ["data", "relationships", "currency", "data", "id"],
  ["included"],
  ["included", 1, "attributes", "status"],
  ["included", 1, "attributes", "amount"],
  ["included", 1, "attributes", "txid"],
  ["included", 1, "id"],
  ["meta"],
  ["meta", "time"],
  ["meta", "sign"],
] as const;

function setPath(body: Json, path: readonly (string | number)[], value: unknown, remove: boolean): Json {
  let node = body as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== "object") return body;
    node = node[key] as Record<string | number, unknown>;
  }
  const last = path.at(-1)!;
  if (remove) delete node[last];
  else node[last] = value;
  return body;
}

/**
 * Bodies a hostile or broken sender could post. The base callbacks are signed with a secret that is not the
 * account's, so that even a body that survives every mutation intact must be refused: nothing may be stored.
 */
const wrongSecret = "acs_whsec_not-the-accounts-secret";
const base = () => depositCallback(wrongSecret) as Json;
const hostileBody: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.string({ unit: "binary" }),
  fc.nat({ max: 2000 }).map((cut) => JSON.stringify(base()).slice(0, cut)),
  fc.integer({ min: 30, max: 20_000 }).map((depth) => "[".repeat(depth) + "]".repeat(depth)),
  fc.integer({ min: 30, max: 5_000 }).map((depth) => '{"a":'.repeat(depth) + "1" + "}".repeat(depth)),
  fc.tuple(fc.constantFrom(...FIELD_PATHS), fc.boolean(), fc.jsonValue()).map(([path, remove, value]) =>
    JSON.stringify(setPath(base(), path, value, remove)),
  ),
  fc.tuple(fc.constantFrom(...FIELD_PATHS), fc.oneof(fc.string({ unit: "grapheme", maxLength: 300 }), fc.constant("9".repeat(100_000)), fc.double(), fc.bigInt().map(String))).map(
    ([path, value]) => JSON.stringify(setPath(base(), path, value, false)),
  ),
  fc.oneof(fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF"), maxLength: 130 }), fc.string({ maxLength: 70 }), fc.constant("é".repeat(64))).map((sign) =>
    JSON.stringify(setPath(depositCallback(secret) as Json, ["meta", "sign"], sign, false)),
  ),
  fc.constant(JSON.stringify(base()) + "garbage"),
);

describe("hostile callback bodies", () => {
  it("10,000 generated bodies: no 5xx, nothing stored, nothing published, and the server still serves", async () => {
    const subscriber = subscribe<OnCallbackEventSubscription>(
      wsClient(server.url, { token: await server.token("owner@example.com") }),
      OnCallbackEventDocument,
      { after: await headCursor(server, secret) },
    );
    const stored = await server.em().count(CallbackEvent, {});
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(hostileBody, async (body) => {
        const { status } = await postCallback(server.url, body);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        return status >= 400 && status < 500;
      }),
      { numRuns: 10_000, seed: 20261127 },
    );
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(10_000);
    expect([...statuses.keys()].every((status) => status >= 400 && status < 500)).toBe(true);
    expect(await server.em().count(CallbackEvent, {})).toBe(stored);
    expect(subscriber.queued()).toBe(0);

    expect((await postCallback(server.url, depositCallback(secret, { trackingId: "still-serving" }))).status).toBe(200);
    expect((await subscriber.next()).data!.callbackEvents.trackingId).toBe("still-serving");
    subscriber.dispose();
  }, 300_000);
});
