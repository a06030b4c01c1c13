import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ownerGrants, ownerRevokes } from "../support/access.js";
import { depositCallback, headCursor, postCallback, regenerateCallbackSecret } from "../support/callbacks.js";
import { DEMO_WALLETS } from "../support/fixtures.js";
import { subscribe, wsClient } from "../support/ws-client.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

/** The event's own fields only: a leaked event arrives whole, not as an error about its wallet. */
const EVENTS = "subscription($after: String) { callbackEvents(after: $after) { trackingId } }";
type Event = { callbackEvents: { trackingId: string } };

let server: TestServer;
let secret: string;

beforeAll(async () => {
  // The socket guard looks as rarely as it may: what keeps revoked events away must not depend on it.
  server = await startTestServer({ SUBSCRIPTION_ACCESS_CHECK_MS: "4000" });
  secret = await regenerateCallbackSecret(server);
});
afterAll(() => server?.close());

describe("a wallet revoked while a subscription runs", () => {
  it("never delivers an event stored after the revocation committed, whatever the interleaving (10 rounds)", async () => {
    const token = await server.token("viewer@example.com");
    for (let round = 0; round < 10; round++) {
      // The viewer holds ETH; a socket opened now knows of ETH only.
      const client = wsClient(server.url, { token });
      try {
        await ownerGrants(server, "viewer@example.com", DEMO_WALLETS.BTC);
        const subscription = subscribe<Event>(client, EVENTS, { after: await headCursor(server, secret) });
        const received: string[] = [];
        if (round % 2 === 0) {
          // Half the rounds make sure the subscription runs, and sees BTC, before the revocation.
          await postCallback(server.url, depositCallback(secret, { walletId: DEMO_WALLETS.BTC, trackingId: `before-${round}` }));
          const first = await subscription.next(10_000);
          received.push(first.data!.callbackEvents.trackingId);
        }
        await ownerRevokes(server, "viewer@example.com", DEMO_WALLETS.BTC);
        expect((await postCallback(server.url, depositCallback(secret, { walletId: DEMO_WALLETS.BTC, trackingId: `after-${round}` }))).status).toBe(200);
        expect((await postCallback(server.url, depositCallback(secret, { walletId: DEMO_WALLETS.ETH, trackingId: `probe-${round}` }))).status).toBe(200);

        // Either the subscription ends (it lost BTC) or the probe, stored after the BTC event, arrives.
        let ended = false;
        void subscription.ended.then(() => (ended = true));
        while (!ended && !received.includes(`probe-${round}`)) {
          const result = await Promise.race([subscription.next(10_000), subscription.ended.then(() => null)]);
          if (result?.data) received.push(result.data.callbackEvents.trackingId);
          else if (result?.errors) expect(result.errors.map((error) => error.extensions?.code)).toEqual(["FORBIDDEN"]);
        }
        while (subscription.queued() > 0) {
          const result = await subscription.next();
          if (result.data) received.push(result.data.callbackEvents.trackingId);
        }
        expect([round, received.filter((trackingId) => trackingId.startsWith("after-"))]).toEqual([round, []]);
      } finally {
        await client.dispose();
      }
    }
  }, 120_000);
});
