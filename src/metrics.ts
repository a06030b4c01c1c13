import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

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

  readonly socketsClosed = new Counter({
    name: "subscription_sockets_closed_total",
    help: "WebSockets closed by the server, by reason (slow_consumer, token_expired, access_revoked)",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
