import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, launchRouter, type LaunchedRouter } from "../../router/launch-router.js";
import { depositCallback, headCursor, postCallback, regenerateCallbackSecret } from "../support/callbacks.js";
import { describeRouterHttp, describeSubscriptions } from "../support/router-cases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { defaultClient, subscribe } from "../support/ws-client.js";

/**
 * `npm run router -- --callback`: the Hive Gateway CLI with router/gateway.config.ts subscribing to this subgraph
 * in HTTP callback mode (router/router.callback.yaml's semantics). The subgraph allows the gateway's callback
 * origin and trusts its address, as docs/subscriptions.md asks.
 */
/** The gateway gives a subscription up when nothing arrived for this long; the subgraph heartbeats at half of it. */
const HEARTBEAT_MS = 1000;

let server: TestServer;
let secret: string;
let router: LaunchedRouter;

beforeAll(async () => {
  // The callback origin is configured on the subgraph before the gateway exists: its port is chosen first.
  const port = await freePort();
  server = await startTestServer({
    SUBSCRIPTION_ACCESS_CHECK_MS: "200",
    SUBSCRIPTION_CALLBACK_ORIGINS: `http://localhost:${port}`,
    TRUSTED_PROXIES: "127.0.0.1, ::1",
    SUBSCRIPTION_CALLBACK_MIN_HEARTBEAT_MS: String(HEARTBEAT_MS),
  });
  secret = await regenerateCallbackSecret(server);
  router = await launchRouter({
    port,
    accessUrl: `${server.url}/graphql`,
    depositsPort: 0,
    subscriptions: "callback",
    callbackHeartbeatMs: HEARTBEAT_MS,
    output: "keep",
    log: () => {},
  });
});
afterAll(async () => {
  await router?.stop();
  await server?.close();
});

describe("through the Hive Gateway CLI, subscriptions in HTTP callback mode", () => {
  describeRouterHttp({ url: () => router.url, server: () => server });
  describeSubscriptions({ url: () => router.url, server: () => server, secret: () => secret, crossesSubgraphs: true });

  it("keeps a quiet subscription alive past the gateway's heartbeat window, and it went over callbacks", async () => {
    const callbackRequestsBefore = callbackRequests();
    const client = defaultClient(router.url, { token: await server.token("owner@example.com") });
    try {
      const subscription = subscribe<{ callbackEvents: { trackingId: string } }>(
        client,
        "subscription($after: String) { callbackEvents(after: $after) { trackingId } }",
        { after: await headCursor(server, secret) },
      );
      await postCallback(server.url, depositCallback(secret, { trackingId: "before-quiet" }));
      expect((await subscription.next(15_000)).data?.callbackEvents.trackingId).toBe("before-quiet");
      // Quiet for well over two windows: only heartbeats keep the gateway from giving the subscription up.
      await new Promise((resolve) => setTimeout(resolve, 2.5 * HEARTBEAT_MS));
      await postCallback(server.url, depositCallback(secret, { trackingId: "after-quiet" }));
      expect(await subscription.next(15_000)).toEqual({ data: { callbackEvents: { trackingId: "after-quiet" } } });
      expect(callbackRequests()).toBe(callbackRequestsBefore + 1);
    } finally {
      await client.dispose();
    }
  });
});

/** How many callback-mode subscribe requests the subgraph received (its callback plugin logs each). */
const callbackRequests = () => server.logs.filter((line) => line.includes("Received new subscription request")).length;
