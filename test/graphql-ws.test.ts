import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OnCallbackEventDocument, type OnCallbackEventSubscription } from "./generated/graphql.js";
import { depositCallback, headCursor, postCallback, regenerateCallbackSecret } from "./support/callbacks.js";
import { endingErrors, subscribe, wsClient } from "./support/ws-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

let server: TestServer;
let secret: string;
const clients: { dispose(): void | Promise<void> }[] = [];

beforeAll(async () => {
  server = await startTestServer({ WS_CONNECTION_INIT_TIMEOUT_MS: "500" });
  secret = await regenerateCallbackSecret(server);
});
afterAll(async () => {
  for (const client of clients) await client.dispose();
  await server?.close();
});

function client(...args: Parameters<typeof wsClient>) {
  const created = wsClient(...args);
  clients.push(created);
  return created;
}

describe("graphql-ws on /graphql", () => {
  it.each([
    ["connectionParams.token", async () => ({ params: { token: await server.token("viewer@example.com") } })],
    ["connectionParams.Authorization", async () => ({ params: { Authorization: `Bearer ${await server.token("viewer@example.com")}` } })],
    ["the upgrade request's header", async () => ({ headers: { authorization: `Bearer ${await server.token("viewer@example.com")}` } })],
  ])("accepts a token from %s", async (_name, auth) => {
    const { params, headers } = (await auth()) as { params?: Record<string, unknown>; headers?: Record<string, string> };
    const ws = client(server.url, params, { headers });
    const subscription = subscribe<OnCallbackEventSubscription>(ws, OnCallbackEventDocument, {
      after: await headCursor(server, secret),
    });
    const callback = depositCallback(secret);
    expect((await postCallback(server.url, callback)).status).toBe(200);
    const first = await subscription.next();
    expect(first.errors).toBeUndefined();
    expect(first.data!.callbackEvents.trackingId).toBe((callback.data as { attributes: { tracking_id: string } }).attributes.tracking_id);
    subscription.dispose();
  });

  it.each([
    ["no token", undefined],
    ["a bad token", { token: "not-a-jwt" }],
  ])("with %s: acknowledges, answers every subscribe with UNAUTHENTICATED, and closes with 4401 soon after", async (_name, params) => {
    const refused = client(server.url, params);
    const connectedAt = Date.now();
    for (const attempt of [1, 2]) {
      const ended = await endingErrors(subscribe(refused, OnCallbackEventDocument));
      expect([attempt, ended.map((error) => error.code)]).toEqual([attempt, ["UNAUTHENTICATED"]]);
    }
    expect((await refused.closed).code).toBe(4401);
    expect(Date.now() - connectedAt).toBeLessThan(5000);
  });

  it("opens a socket with one statement: the viewer with its account's suspension and access version", async () => {
    const token = await server.token("owner@example.com");
    let listening = true;
    const viewers: string[] = [];
    const accessVersions: string[] = [];
    server.service.db.onStatement((sql) => {
      if (!listening) return;
      if (sql.includes("from app_user u join account a")) viewers.push(sql);
      if (/select id, access_version from account/.test(sql)) accessVersions.push(sql);
    });
    const sockets = Array.from({ length: 20 }, () => client(server.url, { token }));
    await Promise.all(sockets.map((socket) => socket.connected));
    listening = false;
    expect(viewers).toHaveLength(20);
    // The guard's check of every session's access (each SUBSCRIPTION_ACCESS_CHECK_MS) reads the versions of all of
    // them at once; opening a socket reads none of its own.
    expect(accessVersions.length).toBeLessThan(5);
    await Promise.all(sockets.map((socket) => socket.dispose()));
  });

  it("applies the depth and alias limits to subscriptions too", async () => {
    const ws = client(server.url, { token: await server.token("owner@example.com") });
    const aliases = Array.from({ length: 20 }, (_, i) => `a${i}: id`).join(" ");
    const subscription = subscribe(ws, `subscription { callbackEvents { ${aliases} } }`);
    const ended = await endingErrors(subscription);
    expect(ended.map((error) => error.code)).toContain("GRAPHQL_VALIDATION_FAILED");
    expect(ended.map((error) => error.message).join(" ")).toMatch(/Aliases limit of 15 exceeded/);
  });
});
