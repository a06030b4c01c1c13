import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

describe("loadConfig", () => {
  it("defaults to the embedded set-up", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      production: false,
      port: 4000,
      databaseUrl: undefined,
      logLevel: "info",
      seedDemo: true,
      jwt: { issuer: "access-subgraph", audience: "access-subgraph" },
      graphql: { maxDepth: 12, maxAliases: 15 },
    });
    expect(config.dataDir).toMatch(/\/data$/);
  });

  it("does not seed by default on PostgreSQL", () => {
    expect(loadConfig({ DATABASE_URL: "postgres://u:p@localhost/db" }).seedDemo).toBe(false);
  });

  it("bounds every wait for the database by default, and keeps the ready check within the readiness contract", () => {
    expect(loadConfig({}).database).toEqual({ queryTimeoutMs: 10_000, acquireTimeoutMs: 5000, readyCheckTimeoutMs: 2000 });
    expect(loadConfig({ DB_QUERY_TIMEOUT_MS: "0" }).database.queryTimeoutMs).toBe(0);
    expect(() => loadConfig({ READY_CHECK_TIMEOUT_MS: "6000" })).toThrow(/READY_CHECK_TIMEOUT_MS must be between 100 and 5000/);
    expect(() => loadConfig({ DB_ACQUIRE_TIMEOUT_MS: "0" })).toThrow(/DB_ACQUIRE_TIMEOUT_MS must be between/);
  });

  it.each([
    [{}, undefined],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }, "http://collector:4318/v1/traces"],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "https://otel.example/base/" }, "https://otel.example/base/v1/traces"],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b:4318/traces" }, "http://b:4318/traces"],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_SDK_DISABLED: "true" }, undefined],
  ])("sends traces for %j to %s", (env, tracesUrl) => {
    expect(loadConfig(env).tracing).toEqual({ tracesUrl, serviceName: "access-subgraph", exportDelayMs: 5000 });
  });

  it.each([
    [{ PORT: "http" }, /PORT must be a whole number/],
    [{ PORT: "70000" }, /PORT must be between/],
    [{ DATABASE_URL: "mysql://x" }, /DATABASE_URL must start with postgres/],
    [{ LOG_LEVEL: "loud" }, /LOG_LEVEL must be one of/],
    [{ JWT_SECRET: "short" }, /at least 32 bytes/],
    [{ MASTER_KEY: "c2hvcnQ=" }, /exactly 32 bytes/],
    [{ MASTER_KEYS_RETIRED: `${Buffer.alloc(32).toString("base64")},c2hvcnQ=` }, /MASTER_KEYS_RETIRED must list base64/],
    [{ JWT_SECRET: "x".repeat(32), JWT_SECRETS_RETIRED: "short" }, /JWT_SECRETS_RETIRED must list keys of at least 32 bytes/],
    [{ JWT_SECRETS_RETIRED: "y".repeat(32) }, /JWT_SECRETS_RETIRED needs JWT_SECRET/],
    [{ SEED_DEMO: "maybe" }, /SEED_DEMO must be true or false/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }, /OTEL_EXPORTER_OTLP_ENDPOINT must be an http\(s\) URL/],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "not a url" }, /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "not a url" is not a URL/],
    [{ NODE_ENV: "production" }, /In production set JWT_SECRET or JWT_JWKS_URL/],
    [{ NODE_ENV: "production", JWT_SECRET: "x".repeat(32) }, /In production set MASTER_KEY/],
    [
      { NODE_ENV: "production", JWT_SECRET: "x".repeat(32), MASTER_KEY: Buffer.alloc(32).toString("base64"), SEED_DEMO: "true" },
      /SEED_DEMO cannot be used with NODE_ENV=production/,
    ],
  ])("refuses %j", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
