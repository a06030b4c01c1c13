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

  it.each([
    [{ PORT: "http" }, /PORT must be a whole number/],
    [{ PORT: "70000" }, /PORT must be between/],
    [{ DATABASE_URL: "mysql://x" }, /DATABASE_URL must start with postgres/],
    [{ LOG_LEVEL: "loud" }, /LOG_LEVEL must be one of/],
    [{ JWT_SECRET: "short" }, /at least 32 bytes/],
    [{ MASTER_KEY: "c2hvcnQ=" }, /exactly 32 bytes/],
    [{ SEED_DEMO: "maybe" }, /SEED_DEMO must be true or false/],
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
