import http from "node:http";
import type { AddressInfo } from "node:net";
import { ACCESS_SECRET_MUTATIONS } from "./access/access.resolver.js";
import { ApiTokenService } from "./auth/api-token.js";
import type { AuthenticationServices } from "./auth/authenticate.js";
import { tokenFailureLimiters, tokenRouter } from "./auth/token-route.js";
import { createTokenService, type TokenService } from "./auth/tokens.js";
import { UnauthorizedLog } from "./callbacks/callback-ingress.js";
import { callbackHandler, isCallbackRequest } from "./callbacks/callback-route.js";
import { systemClock, type Clock } from "./clock.js";
import type { Config } from "./config.js";
import { stepUpPolicy } from "./confirmation/step-up.js";
import { CallbackSecretCache } from "./credentials/callback-secret-cache.js";
import { SECURITY_MUTATIONS } from "./credentials/credentials.resolver.js";
import { ENROLMENT_MUTATIONS, PUBLIC_MUTATIONS } from "./enrolment/enrolment.resolver.js";
import { enrolmentDependencies } from "./enrolment/enrolment.service.js";
import { deriveKeys, loadMasterKeyring } from "./credentials/keys.js";
import type { SecretBox } from "./credentials/secret-box.js";
import { seedDemoData, type DemoSeedResult } from "./db/demo-seed.js";
import { openDatabase, sqlitePath, type Database } from "./db/orm.js";
import { shuttingDown } from "./domain-error.js";
import { EVENTS_CHANNEL, EventFeed } from "./events/event-feed.js";
import { SqlEventLog, type EventLog } from "./events/event-log.js";
import { EventRetention } from "./events/retention.js";
import { GroupCommit } from "./events/group-commit.js";
import { WriterThread } from "./events/writer-thread.js";
import type { ResolverServices } from "./graphql/context.js";
import { createErrorFormatter } from "./graphql/error-mapping.js";
import { graphqlRouter } from "./graphql/graphql-server.js";
import { operationRules } from "./graphql/operation-rules.js";
import { buildFederatedSchema } from "./graphql/schema.js";
import { SessionGuard } from "./graphql/session-guard.js";
import { startTracing } from "./tracing/tracing.js";
import { serveWebSockets } from "./graphql/websocket.js";
import { healthRouter } from "./http/health.js";
import { metricsRouter } from "./http/metrics-route.js";
import { webApp } from "./http/web-app.js";
import { settledWithin } from "./settled-within.js";
import { createLogger, type Logger } from "./logger.js";
import { Metrics } from "./metrics.js";
import { AccountBudget } from "./network/account-budget.js";
import { ClientAddressResolver } from "./network/client-address.js";
import { provisioningFailureLimiter, provisioningRouter } from "./provisioning/provisioning-route.js";
import { WalletAccounts } from "./wallets/wallet-accounts.js";

/** How long a stopping server waits for its sockets to send their last messages and close. */
const SHUTDOWN_DRAIN_MS = 5000;

export interface ServiceOptions {
  /** Defaults to JSON logs on stdout at the configured level. */
  logger?: Logger;
  /** Called once when a first start seeded the demo account, with the generated credentials to show. */
  onDemoSeeded?: (result: DemoSeedResult) => void;
  /** The time the security rules use. @default the system clock */
  clock?: Clock;
}

/** A running service: one HTTP server on one port with GraphQL (HTTP and WebSocket), the ingress, health and metrics. */
export interface RunningService {
  url: string;
  port: number;
  config: Config;
  db: Database;
  /** The event log, and the queue the ingress appends through. */
  log: EventLog;
  events: GroupCommit;
  feed: EventFeed;
  /** Prunes old events (`EVENT_RETENTION_DAYS`). */
  retention: EventRetention;
  /** The secrets verifying each account's callbacks, briefly in memory. */
  callbackSecrets: CallbackSecretCache;
  /** Seals the secrets the service must use again (TOTP seeds, callback secrets). */
  box: SecretBox;
  tokens: TokenService;
  metrics: Metrics;
  logger: Logger;
  /** Stops accepting work, lets requests in flight finish, ends subscriptions, closes sockets and the database. */
  close(): Promise<void>;
}

/** The writer thread of the configured database (see `events/writer-thread.ts`). */
function openWriterThread(config: Config, db: Database, logger: Logger, metrics: Metrics): WriterThread {
  return new WriterThread(
    db.dialect === "postgresql"
      ? {
          dialect: "postgresql",
          databaseUrl: config.databaseUrl!,
          notifyChannel: EVENTS_CHANNEL,
          timeoutMs: config.database.queryTimeoutMs,
          connectTimeoutMs: config.database.acquireTimeoutMs,
        }
      : { dialect: "sqlite", filename: sqlitePath(config) },
    { logger, onStatements: (count) => metrics.dbStatements.inc(count) },
  );
}

/**
 * Applies the pending migrations (`MIGRATE_ON_START`), or refuses to start on a database that has some: the code of
 * this release needs their schema.
 */
async function migrateOrCheck(db: Database, config: Config, logger: Logger): Promise<void> {
  if (config.migrateOnStart) {
    const applied = await db.migrate();
    if (applied.length > 0) logger.info({ migrations: applied }, "applied database migrations");
    return;
  }
  const pending = await db.pendingMigrations();
  if (pending.length > 0) {
    throw new Error(`The database lacks ${pending.length} migration(s) of this release (${pending.join(", ")}): run \`npm run migrate\` first`);
  }
}

/** Opens the database, applies migrations, seeds when asked, and serves on the configured port. */
export async function startService(config: Config, options: ServiceOptions = {}): Promise<RunningService> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const metrics = new Metrics();
  const clock = options.clock ?? systemClock;
  const keys = deriveKeys(loadMasterKeyring(config));
  const db = await openDatabase(config);
  const writer = openWriterThread(config, db, logger, metrics);
  const log = new SqlEventLog(db.execute, writer);
  const feed = new EventFeed(log, logger, {
    databaseUrl: config.databaseUrl,
    pollMs: config.subscriptions.pollMs,
    timeoutMs: config.database.queryTimeoutMs,
    connectTimeoutMs: config.database.acquireTimeoutMs,
  });
  try {
    db.onStatement(() => metrics.dbStatements.inc());
    // Instances started together on one database take turns: each migration is applied once, the seed runs once.
    await db.exclusively(async () => {
      await migrateOrCheck(db, config, logger);
      if (!config.seedDemo) return;
      const seeded = await seedDemoData(() => db.orm.em.fork(), {
        stepUp: { box: keys.box, hasher: keys.secretHasher, clock, policy: stepUpPolicy(config.confirmation) },
        invitationTtlMs: config.invitationTtlSeconds * 1000,
        logger,
        password: config.demoPassword,
        totpSecret: config.demoTotpSecret,
      });
      if (seeded) {
        logger.info({ account: "Demo Merchant" }, "seeded the demo account");
        options.onDemoSeeded?.(seeded);
      }
    });
    await feed.start();
  } catch (error) {
    await feed.close();
    await log.close();
    await db.close();
    throw error;
  }

  const em = () => db.orm.em.fork();
  // Off (null) unless an OTLP endpoint is configured: then a tracer provider of this service's own.
  const tracing = await startTracing(config.tracing);
  const tracer = tracing?.tracer ?? null;
  const tokens = createTokenService(config, clock);
  const apiTokens = new ApiTokenService(keys.keyring, config.jwt.audience, config.apiTokenLifetimeSeconds, clock);
  const authentication: AuthenticationServices = { tokens, apiTokens, execute: db.execute };
  const addresses = new ClientAddressResolver(config.trustedProxies);
  const budget = new AccountBudget(config.accountRequestBudget, clock);
  const callbackSecrets = new CallbackSecretCache(keys.box, clock);
  const events = new GroupCommit(writer);
  const retention = new EventRetention({
    em,
    clock,
    logger,
    days: config.eventRetentionDays,
    staleAfterMs: config.callbacks.maxAgeSeconds * 1000,
    dateValue: db.dialect === "sqlite" ? (ms) => ms : (ms) => new Date(ms),
  });
  retention.start();
  const stepUp = { box: keys.box, hasher: keys.secretHasher, clock, policy: stepUpPolicy(config.confirmation) };
  const services: ResolverServices = {
    authentication,
    credentials: {
      stepUp,
      secretHasher: keys.secretHasher,
      callbackSecrets,
    },
    enrolment: enrolmentDependencies(stepUp, config.invitationTtlSeconds),
    events: {
      log,
      feed,
      retentionDays: config.eventRetentionDays,
      sendTimeoutMs: config.subscriptions.sendTimeoutMs,
      ended: (code) => metrics.subscriptionsEnded.inc({ code }),
    },
    logger,
  };

  const schema = await buildFederatedSchema();
  const rules = operationRules(
    config,
    [...SECURITY_MUTATIONS, ...ACCESS_SECRET_MUTATIONS, ...ENROLMENT_MUTATIONS],
    PUBLIC_MUTATIONS,
  );
  const formatError = createErrorFormatter(logger);
  const ingress = callbackHandler(
    {
      em,
      clock,
      secrets: callbackSecrets,
      feed,
      events,
      wallets: new WalletAccounts(),
      unauthorized: new UnauthorizedLog(logger, clock),
      derivation: config.callbacks.keyDerivation,
      maxAgeMs: config.callbacks.maxAgeSeconds * 1000,
      tracer,
    },
    (status, outcome, reason) => {
      metrics.callbacks.inc({ outcome });
      if (reason) metrics.callbacksRefused.inc({ reason });
      metrics.httpRequests.inc({ route: "/callbacks", status: String(status) });
    },
    logger,
  );
  // The ingress is answered by the HTTP server itself: the path the platform loads needs nothing of the web app.
  let app: http.RequestListener = (_req, res) => res.writeHead(503).end();
  // A stopping instance answers what it has read (a callback 200 only once stored) and takes nothing new: a request
  // that arrives on a kept-alive connection meanwhile is answered 503 and the connection closed, so that the
  // sender (the platform, the router) retries on another instance.
  let stopping = false;
  const httpServer = http.createServer((req, res) => {
    if (stopping) {
      res.writeHead(503, { connection: "close", "retry-after": "1", "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ message: "The server is shutting down; retry", extensions: { code: "SHUTTING_DOWN" } }] }));
      return;
    }
    if (isCallbackRequest(req)) ingress(req, res);
    else app(req, res);
  });

  const guard = new SessionGuard({ authentication, em, clock, logger, maxPerUser: config.websocket.maxSocketsPerUser });
  guard.start(config.subscriptions.accessCheckMs);
  const webSockets = serveWebSockets({
    httpServer,
    schema,
    em,
    services,
    authentication,
    budget,
    addresses,
    metrics,
    rules,
    formatError,
    guard,
    limits: config.websocket,
    tracer,
  });
  const graphql = await graphqlRouter({
    schema,
    rules,
    formatError,
    config,
    httpServer,
    onDrain: async () => void (await webSockets.dispose()),
    guard,
    em,
    services,
    authentication,
    budget,
    addresses,
    metrics,
    logger,
    tracer,
  });
  app = webApp(
    [
      healthRouter(db),
      metricsRouter(metrics, config),
      tokenRouter({ em, addresses, limiters: tokenFailureLimiters(clock), secretHasher: keys.secretHasher, apiTokens, clock, logger }),
      ...(config.provisioningToken
        ? [
            provisioningRouter({
              token: config.provisioningToken,
              em,
              addresses,
              limiter: provisioningFailureLimiter(clock),
              provisioning: {
                hasher: keys.secretHasher,
                clock,
                invitationTtlMs: config.invitationTtlSeconds * 1000,
                logger,
              },
              logger,
            }),
          ]
        : []),
      graphql.router,
    ],
    { metrics, logger },
  );

  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  logger.info({ port, database: db.dialect }, "access-subgraph listening");

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    config,
    db,
    log,
    events,
    feed,
    callbackSecrets,
    retention,
    box: keys.box,
    tokens,
    metrics,
    logger,
    close() {
      closing ??= (async () => {
        stopping = true;
        httpServer.closeIdleConnections();
        guard.stop();
        await retention.stop();
        // Every subscription ends with SHUTTING_DOWN, then its socket closes (1001) or the router gets `complete`.
        const ended = guard.endAll(shuttingDown());
        await webSockets.drain(Math.min(SHUTDOWN_DRAIN_MS, config.shutdownTimeoutMs / 3));
        // Apollo Server, stopping, completes the callback-mode subscriptions it still runs without an error: it
        // stops only once each was handed SHUTTING_DOWN (bounded), and the handing over has run its course.
        await settledWithin(ended, Math.min(SHUTDOWN_DRAIN_MS, config.shutdownTimeoutMs / 3));
        await new Promise((resolve) => setImmediate(resolve));
        await feed.close();
        await graphql.stop();
        await events.drain();
        await log.close();
        await db.close();
        // Last: the spans of everything above are sent before the service is closed.
        await tracing?.shutdown(Math.min(SHUTDOWN_DRAIN_MS, config.shutdownTimeoutMs / 3));
      })();
      return closing;
    },
  };
}
