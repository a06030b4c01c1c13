import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FailureRateLimiter } from "../src/network/rate-limiter.js";
import { MeDocument } from "./generated/graphql.js";
import { apiUserAccess } from "./support/api-user.js";
import { codes, execute, type GraphQLResult } from "./support/graphql-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";
import { requestToken } from "./support/token-client.js";
import { endingErrors, subscribe, wsClient } from "./support/ws-client.js";

const BUDGET = 20;
const ME = "{ me { isOwner } }";

let server: TestServer;
let api: { apiKey: string; apiSecret: string; token: string };
const tokens: Record<string, string> = {};
const disposables: { dispose(): void | Promise<void> }[] = [];

beforeAll(async () => {
  server = await startTestServer({
    ACCOUNT_REQUEST_BUDGET: String(BUDGET),
    API_TOKEN_LIFETIME_SECONDS: "3600",
    TRUSTED_PROXIES: "127.0.0.1/32, ::1",
  });
  api = await apiUserAccess(server);
  for (const email of ["owner@example.com", "admin@example.com", "other-owner@example.com"]) tokens[email] = await server.token(email);
});
afterAll(async () => {
  for (const disposable of disposables.reverse()) await disposable.dispose();
  await server?.close();
});

/** Lets every account's budget fill up again: a minute of the service's clock. */
function refill(): void {
  server.clock.advance(60_000);
}

const me = (token: string | undefined) => execute(server.url, MeDocument, {}, token === undefined ? {} : { token });

/** Spends `count` operations with `token`, each of which must succeed. */
async function spend(token: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const result = await me(token);
    expect([i, result.errors]).toEqual([i, undefined]);
  }
}

/** The refusal of an operation past the budget, over HTTP: 429, RATE_LIMITED, a retry hint in the body and header. */
function expectRateLimited(result: GraphQLResult<unknown>): number {
  expect(result.status).toBe(429);
  expect(codes(result)).toEqual(["RATE_LIMITED"]);
  expect(result.data ?? null).toBeNull();
  const retryAfter = result.errors![0]!.extensions!.retryAfterSeconds as number;
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(Math.ceil(60 / BUDGET));
  expect(result.headers.get("retry-after")).toBe(String(retryAfter));
  return retryAfter;
}

describe("the per-account request budget (ACCOUNT_REQUEST_BUDGET)", () => {
  it("refuses operations past the budget with RATE_LIMITED and retryAfterSeconds; another account is unaffected", async () => {
    refill();
    await spend(tokens["owner@example.com"]!, BUDGET);
    expectRateLimited(await me(tokens["owner@example.com"]));
    // Every user of the account shares it.
    expectRateLimited(await me(tokens["admin@example.com"]));
    // The other account has a budget of its own.
    await spend(tokens["other-owner@example.com"]!, BUDGET);
  });

  it("the API user and the account's users share one budget", async () => {
    refill();
    await spend(api.token, BUDGET / 2);
    await spend(tokens["admin@example.com"]!, BUDGET / 2);
    expectRateLimited(await me(api.token));
    expectRateLimited(await me(tokens["owner@example.com"]));
  });

  it("comes back with time, on the service's clock", async () => {
    refill();
    await spend(tokens["owner@example.com"]!, BUDGET);
    const retryAfter = expectRateLimited(await me(tokens["owner@example.com"]));
    server.clock.advance(retryAfter * 1000);
    await spend(tokens["owner@example.com"]!, 1);
    expectRateLimited(await me(tokens["owner@example.com"]));
    refill();
    await spend(tokens["owner@example.com"]!, BUDGET);
  });

  it("charges every graphql-ws subscribe; past the budget it is refused and the socket stays open", async () => {
    refill();
    const ws = wsClient(server.url, { token: tokens["owner@example.com"] });
    disposables.push(ws);
    for (let i = 0; i < BUDGET; i++) {
      const operation = subscribe<{ me: { isOwner: boolean } }>(ws, ME);
      expect([i, await operation.next()]).toEqual([i, { data: { me: { isOwner: true } } }]);
      await operation.ended;
    }
    const refused = subscribe(ws, ME);
    const [error] = await endingErrors(refused);
    expect(error!.code).toBe("RATE_LIMITED");
    // HTTP shares the same budget.
    expectRateLimited(await me(tokens["admin@example.com"]));

    refill();
    const again = subscribe<{ me: { isOwner: boolean } }>(ws, ME);
    expect(await again.next()).toEqual({ data: { me: { isOwner: true } } });
  });

  it("puts retryAfterSeconds in a graphql-ws refusal too", async () => {
    refill();
    await spend(tokens["owner@example.com"]!, BUDGET);
    const ws = wsClient(server.url, { token: tokens["owner@example.com"] });
    disposables.push(ws);
    let last: unknown;
    const refused = subscribe(ws, ME);
    await refused.ended;
    while (refused.queued() > 0) last = await refused.next();
    const error = (last as { errors: { extensions: Record<string, unknown> }[] }).errors[0]!;
    expect(error.extensions).toEqual({ code: "RATE_LIMITED", retryAfterSeconds: expect.any(Number) });
  });

  it("charges no account for requests without a valid token", async () => {
    refill();
    for (let i = 0; i < BUDGET + 5; i++) {
      expect(codes(await me(undefined))).toEqual(["UNAUTHENTICATED"]);
      expect(codes(await me("not-a-jwt"))).toEqual(["UNAUTHENTICATED"]);
    }
    await spend(tokens["owner@example.com"]!, BUDGET);
  });
});

describe("/token failures per API key", () => {
  it("answers 429 after 15 wrong secrets for one client_id from 15 addresses, to any address, until the minute ends", async () => {
    // Start at the beginning of a rate-limit minute so that the window cannot end mid-test.
    server.clock.advance(60_000 - (server.clock.now() % 60_000));
    const from = (address: string) => ({ "x-forwarded-for": address });
    const statuses: number[] = [];
    for (let i = 1; i <= 15; i++) statuses.push((await requestToken(server.url, api.apiKey, "wrong", from(`198.51.100.${i}`))).status);
    expect(statuses).toEqual(Array(15).fill(400));

    const throttled = await requestToken(server.url, api.apiKey, api.apiSecret, from("198.51.100.200"));
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(throttled.body.errors[0]!.detail).toBe("Request was throttled");
    // The addresses are not throttled for other keys: the count is the key's.
    expect((await requestToken(server.url, "acs_key_unknown", "wrong", from("198.51.100.1"))).status).toBe(400);

    server.clock.advance(60_000);
    expect((await requestToken(server.url, api.apiKey, api.apiSecret, from("198.51.100.200"))).status).toBe(200);
  });
});

describe("failure counters of different scopes", () => {
  it("keep their own windows: a short window's clean-up leaves a longer one's count alone", async () => {
    const long = new FailureRateLimiter("test-long", 3, 15 * 60_000, server.clock);
    const short = new FailureRateLimiter("test-short", 3, 60_000, server.clock);
    server.clock.advance(15 * 60_000 - (server.clock.now() % (15 * 60_000)));
    for (let i = 0; i < 3; i++) await long.recordFailure(server.em(), "203.0.113.9");
    expect(await long.retryAfterSeconds(server.em(), "203.0.113.9")).toBeGreaterThan(0);
    server.clock.advance(5 * 60_000);
    await short.recordFailure(server.em(), "203.0.113.9");
    expect(await long.retryAfterSeconds(server.em(), "203.0.113.9")).toBeGreaterThan(0);
  });
});
