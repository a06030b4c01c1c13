import { createHash, timingSafeEqual } from "node:crypto";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { bearerToken } from "./auth/tokens.js";
import type { Config } from "./config.js";

/** The service's Prometheus metrics, one registry per server so that several servers can share a process. */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests answered, by route and status code",
    labelNames: ["route", "status"] as const,
    registers: [this.registry],
  });

  readonly graphqlOperations = new Counter({
    name: "graphql_operations_total",
    help: "GraphQL operations executed, by type and outcome (ok or the first error code)",
    labelNames: ["type", "outcome"] as const,
    registers: [this.registry],
  });

  readonly graphqlDuration = new Histogram({
    name: "graphql_operation_duration_seconds",
    help: "Time from receiving a GraphQL operation to sending its response",
    labelNames: ["type"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly dbStatements = new Counter({
    name: "db_statements_total",
    help: "SQL statements sent to the database",
    registers: [this.registry],
  });

  readonly callbacks = new Counter({
    name: "callbacks_total",
    help: "Callbacks received on /callbacks, by outcome",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  readonly callbacksRefused = new Counter({
    name: "callbacks_refused_total",
    help: "Callbacks answered 4xx on /callbacks, by reason (unknown_wallet and bad_signature apart, stale, ...)",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  readonly subscriptionsEnded = new Counter({
    name: "subscriptions_ended_total",
    help: "Subscriptions the server ended before their client did, by error code (UNAUTHENTICATED, FORBIDDEN, SLOW_CONSUMER, SHUTTING_DOWN)",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });

  readonly socketsRefused = new Counter({
    name: "websocket_upgrades_refused_total",
    help: "WebSocket upgrades refused before the handshake, by reason (address_limit, path)",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * Who may read `/metrics`: with `METRICS_TOKEN`, only a caller presenting it as a bearer token (compared in
 * constant time); without it, anyone outside production and nobody in production ("off").
 */
export function metricsAccess(config: Pick<Config, "production" | "metricsToken">): (authorization: string | undefined) => "allowed" | "refused" | "off" {
  if (config.metricsToken === undefined) return () => (config.production ? "off" : "allowed");
  const expected = digest(config.metricsToken);
  return (authorization) => {
    const token = bearerToken(authorization);
    return token && timingSafeEqual(digest(token), expected) ? "allowed" : "refused";
  };
}
