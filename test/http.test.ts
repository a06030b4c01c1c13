import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Account } from "../src/access/account.entity.js";
import { codes, execute } from "./support/graphql-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ GRAPHQL_MAX_DEPTH: "4" });
});
afterAll(() => server?.close());

describe("operational endpoints", () => {
  it("/healthz and /readyz answer 200 while the database is reachable", async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready" });
  });

  it("/metrics speaks the Prometheus text format", async () => {
    await execute(server.url, "{ me { isOwner } }", {}, { token: await server.token("owner@example.com") });
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toMatch(/^# TYPE http_requests_total counter$/m);
    expect(text).toMatch(/^graphql_operations_total\{type="query",outcome="ok"\} [1-9]/m);
    expect(text).toMatch(/^db_statements_total [1-9]/m);
    expect(text).toMatch(/^process_resident_memory_bytes /m);
  });

  it("/metrics with METRICS_TOKEN: 401 without it or with another, the metrics with it", async () => {
    const metricsToken = randomBytes(24).toString("base64url");
    const guarded = await startTestServer({ METRICS_TOKEN: metricsToken }, { testAccounts: false });
    try {
      for (const authorization of [undefined, "Bearer wrong", `Bearer ${metricsToken}x`, `Basic ${metricsToken}`]) {
        const refused = await fetch(`${guarded.url}/metrics`, { headers: authorization ? { authorization } : {} });
        expect(refused.status).toBe(401);
        expect(await refused.text()).not.toMatch(/process_resident_memory_bytes/);
      }
      const allowed = await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
      expect(allowed.status).toBe(200);
      expect(await allowed.text()).toMatch(/^process_resident_memory_bytes /m);
    } finally {
      await guarded.close();
    }
  });

  it("answers unknown paths with a JSON 404", async () => {
    const response = await fetch(`${server.url}/nope`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ errors: [{ message: "Not found", extensions: { code: "NOT_FOUND" } }] });
  });
});

describe("GraphQL over HTTP: hostile and malformed requests", () => {
  it("refuses a simple cross-site request (CSRF prevention)", async () => {
    const get = await fetch(`${server.url}/graphql?query=${encodeURIComponent("{ __typename }")}`);
    expect(get.status).toBe(400);
    const form = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(form.status).toBe(400);
  });

  it("answers malformed JSON with 400 and no stack trace", async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"query": "{ me { isOwner } }"',
    });
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(text).toContain("Malformed JSON body");
    expect(text).not.toMatch(/at .*\(|node_modules/);
  });

  it("answers a body over the limit with 413", async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ __typename } # ${"x".repeat(600 * 1024)}` }),
    });
    expect(response.status).toBe(413);
  });

  it("refuses a selection deeper than the limit", async () => {
    const result = await execute(
      server.url,
      "{ accessList { grants { wallet { currency { alpha } } } } }",
      {},
      { token: await server.token("owner@example.com") },
    );
    expect(codes(result)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    expect(result.errors![0]!.message).toMatch(/depth limit of 4/);
  });

  it("refuses more aliases than the limit", async () => {
    const aliases = Array.from({ length: 16 }, (_, i) => `a${i}: me { isOwner }`).join(" ");
    const result = await execute(server.url, `{ ${aliases} }`, {}, { token: await server.token("owner@example.com") });
    expect(codes(result)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    expect(result.errors![0]!.message).toMatch(/Aliases limit of 15/);
  });

  it("keeps serving after all of the above", async () => {
    const result = await execute(server.url, "{ me { isOwner } }", {}, { token: await server.token("owner@example.com") });
    expect(result.data).toEqual({ me: { isOwner: true } });
  });
});

describe("with NODE_ENV=production", () => {
  let production: TestServer;
  beforeAll(async () => {
    production = await startTestServer(
      {
        NODE_ENV: "production",
        SEED_DEMO: "",
        DEMO_PASSWORD: "",
        DEMO_TOTP_SECRET: "",
        JWT_SECRET: randomBytes(32).toString("hex"),
        MASTER_KEY: randomBytes(32).toString("base64"),
      },
      { testAccounts: false },
    );
  });
  afterAll(() => production?.close());

  it("never seeds demo data", async () => {
    expect(await production.em().count(Account, {})).toBe(0);
  });

  it("refuses introspection and hides field suggestions", async () => {
    const introspection = await execute(production.url, "{ __schema { types { name } } }", {});
    expect(introspection.data ?? null).toBeNull();
    expect(JSON.stringify(introspection.errors)).toMatch(/introspection/i);
    const typo = await execute(production.url, "{ walets { edges { cursor } } }", {});
    expect(codes(typo)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    expect(JSON.stringify(typo.errors)).not.toMatch(/Did you mean/);
  });

  it("does not serve the SDL to anonymous callers", async () => {
    const result = await execute(production.url, "{ _service { sdl } }", {});
    expect(result.status).toBe(401);
    expect(codes(result)).toEqual(["UNAUTHENTICATED"]);
  });
});
