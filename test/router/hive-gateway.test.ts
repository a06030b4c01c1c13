import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDepositsSubgraph } from "../fixtures/deposits-subgraph.js";
import { depositCallback, headCursor, postCallback, regenerateCallbackSecret } from "../support/callbacks.js";
import { DEMO_WALLETS } from "../support/fixtures.js";
import { compose, subgraphsOfSupergraphYaml } from "../support/gateway.js";
import { execute } from "../support/graphql-client.js";
import { startHiveGateway } from "../support/hive-gateway.js";
import { defaultClient, endingErrors, subscribe, wsClient, type QueuedSubscription } from "../support/ws-client.js";
import { ownerGrants, ownerRevokes } from "../support/access.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

interface PushedEvent {
  callbackEvents: {
    cursor: string;
    trackingId: string;
    wallet: { id: string; label: string; deposits: { id: string }[] };
  };
}

const SUBSCRIPTION = `subscription($after: String, $filter: CallbackEventFilter) {
  callbackEvents(after: $after, filter: $filter) { cursor trackingId wallet { id label deposits { id } } }
}`;

let server: TestServer;
let secret: string;
let deposits: Awaited<ReturnType<typeof startDepositsSubgraph>>;
let gateway: Awaited<ReturnType<typeof startHiveGateway>>;
const disposables: { dispose(): void | Promise<void> }[] = [];

beforeAll(async () => {
  server = await startTestServer();
  secret = await regenerateCallbackSecret(server);
  deposits = await startDepositsSubgraph();
  const composition = compose(subgraphsOfSupergraphYaml({ access: `${server.url}/graphql`, deposits: deposits.url }));
  gateway = await startHiveGateway(composition.supergraphSdl!);
});
afterAll(async () => {
  for (const disposable of disposables) await disposable.dispose();
  await gateway?.stop();
  await deposits?.stop();
  await server?.close();
});

async function subscribeThroughGateway(email: string | null, variables: Record<string, unknown>) {
  const client = wsClient(gateway.url, email ? { token: await server.token(email) } : {});
  disposables.push(client);
  return subscribe<PushedEvent>(client, SUBSCRIPTION, variables);
}

async function nextEvent(subscription: QueuedSubscription<PushedEvent>) {
  const result = await subscription.next(10_000);
  expect(result.errors).toBeUndefined();
  return result.data!.callbackEvents;
}

describe("subscriptions through the Hive Gateway", () => {
  it("pushes a signed callback to a subscriber, with the other subgraph's field on the event's wallet", async () => {
    const subscription = await subscribeThroughGateway("owner@example.com", { after: await headCursor(server, secret) });
    expect((await postCallback(server.url, depositCallback(secret, { trackingId: "via-gateway" }))).status).toBe(200);
    expect(await nextEvent(subscription)).toMatchObject({
      trackingId: "via-gateway",
      wallet: { id: DEMO_WALLETS.ETH, label: "ETH main", deposits: [{ id: "d-1" }, { id: "d-3" }] },
    });
    subscription.dispose();
  });

  it("keeps filters and authorisation", async () => {
    const after = await headCursor(server, secret);
    const btcOnly = await subscribeThroughGateway("owner@example.com", { after, filter: { walletIds: [DEMO_WALLETS.BTC] } });
    const viewer = await subscribeThroughGateway("viewer@example.com", { after });
    await postCallback(server.url, depositCallback(secret, { walletId: DEMO_WALLETS.BTC, trackingId: "btc-gw" }));
    await postCallback(server.url, depositCallback(secret, { walletId: DEMO_WALLETS.ETH, trackingId: "eth-gw" }));
    expect((await nextEvent(btcOnly)).trackingId).toBe("btc-gw");
    // The read-only viewer holds the ETH wallet only: the BTC event never reaches it.
    expect((await nextEvent(viewer)).trackingId).toBe("eth-gw");

    // Without a token the subgraph refuses the subscription at once with UNAUTHENTICATED, which the gateway passes
    // on; the events that reach an authorised subscriber meanwhile never reach the anonymous one.
    const anonymous = await subscribeThroughGateway(null, { after });
    const refusedAt = Date.now();
    const owner = await subscribeThroughGateway("owner@example.com", { after });
    await postCallback(server.url, depositCallback(secret, { trackingId: "not-for-anonymous" }));
    const seen: string[] = [];
    while (!seen.includes("not-for-anonymous")) seen.push((await nextEvent(owner)).trackingId);
    expect((await endingErrors(anonymous)).map((error) => error.code)).toEqual(["UNAUTHENTICATED"]);
    expect(Date.now() - refusedAt).toBeLessThan(5000);
    anonymous.dispose();
  });

  it("ends a subscription whose access changed with FORBIDDEN, retries on: no event twice, and resuming gives exactly the missed ones", async () => {
    const client = defaultClient(gateway.url, { token: await server.token("viewer@example.com") });
    disposables.push(client);
    const viewer = subscribe<PushedEvent>(client, SUBSCRIPTION, { after: await headCursor(server, secret) });
    for (const index of [1, 2]) await postCallback(server.url, depositCallback(secret, { trackingId: `access-${index}` }));
    const received = [await nextEvent(viewer), await nextEvent(viewer)];
    await ownerRevokes(server, "viewer@example.com", DEMO_WALLETS.ETH);
    expect(await endingErrors(viewer)).toEqual([{ message: "Access changed: subscribe again", code: "FORBIDDEN" }]);
    for (const index of [3, 4]) await postCallback(server.url, depositCallback(secret, { trackingId: `access-${index}` }));
    // Well past the gateway's retries: nothing more arrives on the ended subscription.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(viewer.queued()).toBe(0);
    expect(received.map((event) => event.trackingId)).toEqual(["access-1", "access-2"]);

    await ownerGrants(server, "viewer@example.com", DEMO_WALLETS.ETH);
    const resumed = subscribe<PushedEvent>(client, SUBSCRIPTION, { after: received.at(-1)!.cursor });
    expect([(await nextEvent(resumed)).trackingId, (await nextEvent(resumed)).trackingId]).toEqual(["access-3", "access-4"]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(resumed.queued()).toBe(0);
    resumed.dispose();
  });

  it("resumes by cursor through the gateway, with no gap and no duplicate", async () => {
    const after = await headCursor(server, secret);
    const first = await subscribeThroughGateway("owner@example.com", { after });
    for (const index of [1, 2, 3]) await postCallback(server.url, depositCallback(secret, { trackingId: `resume-${index}` }));
    const one = await nextEvent(first);
    expect(one.trackingId).toBe("resume-1");
    first.dispose();
    const resumed = await subscribeThroughGateway("owner@example.com", { after: one.cursor });
    expect([(await nextEvent(resumed)).trackingId, (await nextEvent(resumed)).trackingId]).toEqual(["resume-2", "resume-3"]);
    resumed.dispose();
  });

  it("serves queries through the gateway with the token propagated", async () => {
    const result = await execute(gateway.url, "{ wallets { edges { node { id deposits { id } } } } }", {}, {
      token: await server.token("viewer@example.com"),
    });
    expect(result.data).toEqual({ wallets: { edges: [{ node: { id: DEMO_WALLETS.ETH, deposits: [{ id: "d-1" }, { id: "d-3" }] } }] } });
  });
});
