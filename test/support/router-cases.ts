import { afterAll, describe, expect, it } from "vitest";
import { accessMutation, ownerGrants, ownerRevokes } from "./access.js";
import { depositCallback, headCursor, postCallback } from "./callbacks.js";
import { DEMO_WALLETS } from "./fixtures.js";
import { codes, execute } from "./graphql-client.js";
import type { TestServer } from "./test-server.js";
import { defaultClient, endingErrors, subscribe, wsClient, type QueuedSubscription } from "./ws-client.js";

/**
 * The cases every way to this subgraph must pass, run by test/router's files against each route: HTTP through a
 * router, and subscriptions through a router or directly, always with graphql-ws's default client options (lazy,
 * retrying a closed socket), as dashboards run it.
 */

/** What the cases need of the file that runs them, once its `beforeAll` ran. */
export interface RouteUnderTest {
  /** The origin clients connect to (`/graphql` is appended). */
  url(): string;
  server(): TestServer;
  /** The demo account's callback secret, to post events. */
  secret(): string;
  /** True behind the router: the event's wallet then also carries the deposits subgraph's field. */
  crossesSubgraphs: boolean;
}

interface PushedEvent {
  cursor: string;
  trackingId: string;
  wallet: { id: string; label: string; deposits?: { id: string }[] };
}

const subscriptionDocument = (crossesSubgraphs: boolean) => `subscription($after: String, $filter: CallbackEventFilter) {
  callbackEvents(after: $after, filter: $filter) { cursor trackingId wallet { id label ${crossesSubgraphs ? "deposits { id }" : ""} } }
}`;

/** Generous: how long a case waits for what must arrive. Nothing is asserted about how fast it came. */
const DEADLINE_MS = 15_000;
/** How many routes' subscription cases were described in this file so far. */
let routesDescribed = 0;

/** Queries, a mutation and queries crossing into the deposits subgraph, through a router, the token forwarded. */
export function describeRouterHttp(route: Pick<RouteUnderTest, "url" | "server">): void {
  describe("over HTTP", () => {
    it("forwards the client's Authorization header: each user sees their own wallets, an anonymous caller a coded error", async () => {
      const server = route.server();
      const query = "{ me { user { email } } wallets { edges { node { id } } } }";
      const viewer = await execute(route.url(), query, {}, { token: await server.token("viewer@example.com") });
      expect(viewer.data).toEqual({ me: { user: { email: "viewer@example.com" } }, wallets: { edges: [{ node: { id: DEMO_WALLETS.ETH } }] } });
      const owner = await execute(route.url(), query, {}, { token: await server.token("owner@example.com") });
      expect((owner.data as { wallets: { edges: unknown[] } }).wallets.edges).toHaveLength(3);
      const anonymous = await execute(route.url(), "{ wallets { edges { node { id } } } }", {});
      expect(anonymous.data).toBeNull();
      expect(codes(anonymous)).toEqual(["UNAUTHENTICATED"]);
    });

    it("resolves fields of both subgraphs in one query, in both directions", async () => {
      const token = await route.server().token("viewer@example.com");
      const ours = await execute(route.url(), "{ wallets { edges { node { id label deposits { id amount } } } } }", {}, { token });
      expect(ours.data).toEqual({
        wallets: {
          edges: [
            {
              node: {
                id: DEMO_WALLETS.ETH,
                label: "ETH main",
                deposits: [
                  { id: "d-1", amount: "0.300000000000000000" },
                  { id: "d-3", amount: "1.250000000000000000" },
                ],
              },
            },
          ],
        },
      });
      // The deposits subgraph lists every deposit; the viewer may see the ETH wallet's only.
      const theirs = await execute(route.url(), "{ recentDeposits { id wallet { id label } } }", {}, { token });
      expect(theirs.data).toEqual({
        recentDeposits: [
          { id: "d-1", wallet: { id: DEMO_WALLETS.ETH, label: "ETH main" } },
          { id: "d-2", wallet: null },
          { id: "d-3", wallet: { id: DEMO_WALLETS.ETH, label: "ETH main" } },
        ],
      });
    });

    it("runs a mutation as the caller: the Owner grants and revokes, the viewer sees the change, the viewer may not", async () => {
      const server = route.server();
      const owner = await server.token("owner@example.com");
      const viewer = await server.token("viewer@example.com");
      const input = { userId: await server.userId("viewer@example.com"), walletId: DEMO_WALLETS.BTC };
      const visible = async () =>
        ((await execute(route.url(), "{ wallets { edges { node { id } } } }", {}, { token: viewer })).data as {
          wallets: { edges: { node: { id: string } }[] };
        }).wallets.edges.map((edge) => edge.node.id);

      expect(codes(await accessMutation(route.url(), "grant", input, viewer))).toEqual(["FORBIDDEN"]);
      expect(await visible()).toEqual([DEMO_WALLETS.ETH]);
      expect((await accessMutation(route.url(), "grant", input, owner)).errors).toBeUndefined();
      expect(await visible()).toEqual([DEMO_WALLETS.ETH, DEMO_WALLETS.BTC]);
      expect((await accessMutation(route.url(), "revoke", input, owner)).errors).toBeUndefined();
      expect(await visible()).toEqual([DEMO_WALLETS.ETH]);
    });
  });
}

/** Live events: delivery, filters, resume, and how a subscription ends (docs/subscriptions.md). */
export function describeSubscriptions(route: RouteUnderTest): void {
  const document = subscriptionDocument(route.crossesSubgraphs);
  const clients: { dispose(): void | Promise<void> }[] = [];

  /** A client disposed after the file. */
  function track<T extends { dispose(): void | Promise<void> }>(client: T): T {
    clients.push(client);
    return client;
  }

  /**
   * A subscription by a client with graphql-ws's default options, presenting a token (as `token` when a string)
   * or nothing (null).
   */
  function subscriber(
    token: string | null | Record<string, unknown>,
    variables: Record<string, unknown>,
  ): QueuedSubscription<{ callbackEvents: PushedEvent }> {
    const connectionParams = token === null ? {} : typeof token === "string" ? { token } : token;
    return subscribe<{ callbackEvents: PushedEvent }>(track(defaultClient(route.url(), connectionParams)), document, variables);
  }

  // The platform's signed message covers the amount, the tracking id and the second it was signed: the same name
  // posted by two routes within one second would be one callback. Each route's tracking ids carry its own suffix.
  const suffix = `.${++routesDescribed}`;
  const post = async (name: string, walletId: string = DEMO_WALLETS.ETH) =>
    expect((await postCallback(route.server().url, depositCallback(route.secret(), { trackingId: name + suffix, walletId }))).status).toBe(200);
  const head = () => headCursor(route.server(), route.secret());
  const token = (email: string) => route.server().token(email);

  /** The next `count` events, each without errors, their tracking ids as posted (without the route's suffix). */
  async function events(subscription: QueuedSubscription<{ callbackEvents: PushedEvent }>, count: number): Promise<PushedEvent[]> {
    const received: PushedEvent[] = [];
    while (received.length < count) {
      const result = await subscription.next(DEADLINE_MS);
      expect(result.errors).toBeUndefined();
      const event = result.data!.callbackEvents;
      expect(event.trackingId.endsWith(suffix)).toBe(true);
      received.push({ ...event, trackingId: event.trackingId.slice(0, -suffix.length) });
    }
    return received;
  }

  /**
   * Nothing more arrives on a subscription: a probe event posted now reaches a fresh subscriber, and the
   * subscription has still received nothing a little later.
   */
  async function expectNothingMore(subscription: QueuedSubscription<unknown>, probe: string): Promise<void> {
    const watcher = subscriber(await token("owner@example.com"), { after: await head() });
    await post(probe);
    expect((await events(watcher, 1))[0]!.trackingId).toBe(probe);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(subscription.queued()).toBe(0);
    watcher.dispose();
  }

  describe("subscriptions", () => {
    it(
      "pushes a signed callback to subscribers, whichever way they present their token" +
        (route.crossesSubgraphs ? ", with the deposits subgraph's field on its wallet" : ""),
      async () => {
        const bearer = `Bearer ${await token("owner@example.com")}`;
        const after = await head();
        const subscriptions = [
          subscriber({ token: await token("owner@example.com") }, { after }),
          subscriber({ Authorization: bearer }, { after }),
          // A client that cannot set connection parameters: the WebSocket upgrade's own header.
          subscribe<{ callbackEvents: PushedEvent }>(track(wsClient(route.url(), {}, { headers: { authorization: bearer } })), document, { after }),
        ];
        await post("pushed");
        for (const subscription of subscriptions) {
          expect(await events(subscription, 1)).toEqual([
            {
              cursor: expect.any(String),
              trackingId: "pushed",
              wallet: {
                id: DEMO_WALLETS.ETH,
                label: "ETH main",
                ...(route.crossesSubgraphs ? { deposits: [{ id: "d-1" }, { id: "d-3" }] } : {}),
              },
            },
          ]);
          subscription.dispose();
        }
      },
    );

    it("keeps filters and who may see what", async () => {
      const after = await head();
      const btcOnly = subscriber(await token("owner@example.com"), { after, filter: { walletIds: [DEMO_WALLETS.BTC] } });
      const viewer = subscriber(await token("viewer@example.com"), { after });
      await post("btc-only", DEMO_WALLETS.BTC);
      await post("eth-only", DEMO_WALLETS.ETH);
      expect((await events(btcOnly, 1)).map((event) => event.trackingId)).toEqual(["btc-only"]);
      // The read-only viewer holds the ETH wallet only: the BTC event never reaches it.
      expect((await events(viewer, 1)).map((event) => event.trackingId)).toEqual(["eth-only"]);
      btcOnly.dispose();
      viewer.dispose();
    });

    it("resumes by cursor with no gap and no duplicate", async () => {
      const owner = await token("owner@example.com");
      const first = subscriber(owner, { after: await head() });
      for (const index of [1, 2, 3]) await post(`resume-${index}`);
      const [one] = await events(first, 1);
      expect(one!.trackingId).toBe("resume-1");
      first.dispose();
      const resumed = subscriber(owner, { after: one!.cursor });
      expect((await events(resumed, 2)).map((event) => event.trackingId)).toEqual(["resume-2", "resume-3"]);
      await post("resume-4");
      expect((await events(resumed, 1)).map((event) => event.trackingId)).toEqual(["resume-4"]);
      resumed.dispose();
    });

    it("ends a subscription whose access changed with FORBIDDEN, delivers no event twice, and resuming gives exactly the missed ones", async () => {
      const server = route.server();
      const viewer = await token("viewer@example.com");
      const subscription = subscriber(viewer, { after: await head() });
      for (const index of [1, 2]) await post(`access-${index}`);
      const received = await events(subscription, 2);
      await ownerRevokes(server, "viewer@example.com", DEMO_WALLETS.ETH);
      try {
        expect(await endingErrors(subscription, DEADLINE_MS)).toEqual([{ message: "Access changed: subscribe again", code: "FORBIDDEN" }]);
        for (const index of [3, 4]) await post(`access-${index}`);
        await expectNothingMore(subscription, "access-probe");
        expect(received.map((event) => event.trackingId)).toEqual(["access-1", "access-2"]);
      } finally {
        await ownerGrants(server, "viewer@example.com", DEMO_WALLETS.ETH);
      }
      const resumed = subscriber(viewer, { after: received.at(-1)!.cursor });
      expect((await events(resumed, 3)).map((event) => event.trackingId)).toEqual(["access-3", "access-4", "access-probe"]);
      resumed.dispose();
    });

    it("refuses an anonymous subscriber with UNAUTHENTICATED, and it gets no event", async () => {
      const subscription = subscriber(null, { after: await head() });
      expect(await endingErrors(subscription, DEADLINE_MS)).toEqual([
        { message: "Authentication required: send a valid bearer token", code: "UNAUTHENTICATED" },
      ]);
      await expectNothingMore(subscription, "anonymous-probe");
    });

    it("ends a subscription when its token expires with UNAUTHENTICATED, and resuming with a new token gives exactly the missed events", async () => {
      const server = route.server();
      const shortLived = await server.service.tokens.sign(await server.userId("owner@example.com"), 60);
      const subscription = subscriber(shortLived, { after: await head() });
      await post("expiry-1");
      const received = await events(subscription, 1);
      server.clock.advance(61_000);
      expect(await endingErrors(subscription, DEADLINE_MS)).toEqual([{ message: "Token expired", code: "UNAUTHENTICATED" }]);
      await expectNothingMore(subscription, "expiry-2");
      const resumed = subscriber(await token("owner@example.com"), { after: received[0]!.cursor });
      expect((await events(resumed, 1)).map((event) => event.trackingId)).toEqual(["expiry-2"]);
      resumed.dispose();
    });

    afterAll(async () => {
      for (const client of clients.splice(0)) await client.dispose();
    });
  });
}
