import { afterAll, beforeAll, describe } from "vitest";
import { launchRouter, type LaunchedRouter } from "../../router/launch-router.js";
import { regenerateCallbackSecret } from "../support/callbacks.js";
import { describeRouterHttp, describeSubscriptions } from "../support/router-cases.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

/**
 * `npm run router`'s gateway, the Hive Gateway CLI as a process with router/gateway.config.ts, started by the
 * launcher in front of this subgraph and the deposits subgraph; subscriptions to this subgraph over graphql-ws.
 * The subscription cases also run directly against the subgraph: both routes behave the same.
 */
let server: TestServer;
let secret: string;
let router: LaunchedRouter;

beforeAll(async () => {
  // Access changes and token expiry end subscriptions within one check: a short one keeps the file quick.
  server = await startTestServer({ SUBSCRIPTION_ACCESS_CHECK_MS: "200" });
  secret = await regenerateCallbackSecret(server);
  router = await launchRouter({
    port: 0,
    accessUrl: `${server.url}/graphql`,
    depositsPort: 0,
    subscriptions: "ws",
    output: "keep",
    log: () => {},
  });
});
afterAll(async () => {
  await router?.stop();
  await server?.close();
});

describe("through the Hive Gateway CLI, subscriptions over graphql-ws", () => {
  describeRouterHttp({ url: () => router.url, server: () => server });
  describeSubscriptions({ url: () => router.url, server: () => server, secret: () => secret, crossesSubgraphs: true });
});

describe("directly, with graphql-ws's default client options", () => {
  describeSubscriptions({ url: () => server.url, server: () => server, secret: () => secret, crossesSubgraphs: false });
});
