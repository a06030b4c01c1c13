import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { expressMiddleware } from "@as-integrations/express5";
import express, { type ErrorRequestHandler, type Request } from "express";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { authenticate } from "./auth/authenticate.js";
import { WalletAccounts } from "./callbacks/callback-ingress.js";
import { callbackHandler, isCallbackRequest } from "./callbacks/callback-route.js";
import { EVENTS_CHANNEL, EventFeed } from "./callbacks/event-feed.js";
import { EventWriter } from "./callbacks/event-writer.js";
import { WriterThreadStore } from "./callbacks/writer-thread-store.js";
import { createTokenService, type TokenService } from "./auth/tokens.js";
import type { Config } from "./config.js";
import { systemClock, type Clock } from "./clock.js";
import { ApiTokenService } from "./credentials/api-token.js";
import { CallbackSecretCache } from "./credentials/callback-secret-cache.js";
import { SECURITY_MUTATIONS } from "./credentials/credentials.resolver.js";
import { deriveKeys, loadMasterKey } from "./credentials/keys.js";
import { tokenRouter } from "./credentials/token-route.js";
import { seedDemoData, type DemoSeedResult } from "./db/demo-seed.js";
import { openDatabase, sqlitePath, type Database } from "./db/orm.js";
import { createContext, type GraphQLContext } from "./graphql/context.js";
import { createErrorFormatter } from "./graphql/error-mapping.js";
import { operationRules } from "./graphql/operation-rules.js";
import {
  authenticationPlugin,
  metricsPlugin,
  responseHeadersPlugin,
  singleSensitiveFieldPlugin,
} from "./graphql/plugins.js";
import { buildFederatedSchema } from "./graphql/schema.js";
import { SessionGuard } from "./graphql/session-guard.js";
import { subscriptionCallbackPlugin } from "./graphql/subscription-callback.js";
import { serveWebSockets } from "./graphql/websocket.js";
import { shuttingDown } from "./domain-error.js";
import { createLogger, type Logger } from "./logger.js";
import { Metrics, metricsAccess } from "./metrics.js";
import { ClientAddressResolver } from "./network/client-address.js";
import { stepUpDependencies, tokenLimiter, type Runtime } from "./runtime.js";

/** Largest GraphQL request body accepted over HTTP. */
const GRAPHQL_BODY_LIMIT = "512kb";
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

/** A running service: one HTTP server on one port with GraphQL (HTTP and WebSocket), health and metrics. */
export interface RunningService {
  url: string;
  port: number;
  db: Database;
  runtime: Runtime;
  tokens: TokenService;
  metrics: Metrics;
  logger: Logger;
  /** Stops accepting work, lets requests in flight finish, closes sockets and the database. */
  close(): Promise<void>;
}


/** Opens the database, applies migrations, seeds when asked, and serves on the configured port. */
export async function startService(config: Config, options: ServiceOptions = {}): Promise<RunningService> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const metrics = new Metrics();
  const clock = options.clock ?? systemClock;
  const keys = deriveKeys(loadMasterKey(config));
  const db = await openDatabase(config);
  const runtime: Runtime = {
    config,
    logger,
    clock,
    box: keys.box,
    secretHasher: keys.secretHasher,
    tokens: createTokenService(config),
    apiTokens: new ApiTokenService(keys.apiTokenKey, config.jwt.audience, config.apiTokenLifetimeSeconds),
    addresses: new ClientAddressResolver(config.trustedProxies),
    stepUp: stepUpDependencies(config, keys.box, clock),
    tokenLimiter: tokenLimiter(clock),
    metrics,
    feed: new EventFeed(() => db.orm.em.fork(), logger, {
      databaseUrl: config.databaseUrl,
      pollMs: config.subscriptions.pollMs,
    }),
    events: new EventWriter(
      new WriterThreadStore(
        db.dialect === "postgresql"
          ? { dialect: "postgresql", databaseUrl: config.databaseUrl!, channel: EVENTS_CHANNEL }
          : { dialect: "sqlite", filename: sqlitePath(config) },
        (sql) => db.statementRun(sql),
        logger,
      ),
    ),
    callbackSecrets: new CallbackSecretCache(keys.box, clock),
  };
  try {
    db.onStatement(() => metrics.dbStatements.inc());
    const applied = await db.migrate();
    if (applied.length > 0) logger.info({ migrations: applied }, "applied database migrations");
    if (config.seedDemo) {
      const seeded = await seedDemoData(db.orm.em.fork(), {
        box: keys.box,
        password: config.demoPassword,
        totpSecret: config.demoTotpSecret,
      });
      if (seeded) {
        logger.info({ account: "Demo Merchant" }, "seeded the demo account");
        options.onDemoSeeded?.(seeded);
      }
    }
    await runtime.feed.start();
    return await serve(runtime, { metrics, db });
  } catch (error) {
    await runtime.feed.close();
    await runtime.events.close();
    await db.close();
    throw error;
  }
}

async function serve(runtime: Runtime, deps: { metrics: Metrics; db: Database }): Promise<RunningService> {
  const { config, logger, tokens } = runtime;
  const { metrics, db } = deps;
  const clientAddressOf = (req: Pick<Request, "socket" | "headers">) =>
    runtime.addresses.resolve(req.socket.remoteAddress, req.headers["x-forwarded-for"]);
  const schema = await buildFederatedSchema();
  const rules = operationRules(config, SECURITY_MUTATIONS);
  const formatError = createErrorFormatter(logger);

  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", false);
  const ingress = callbackHandler(
    {
      em: () => db.orm.em.fork(),
      clock: runtime.clock,
      secrets: runtime.callbackSecrets,
      feed: runtime.feed,
      writer: runtime.events,
      wallets: new WalletAccounts(),
      logger,
      derivation: config.callbacks.keyDerivation,
    },
    (status, outcome) => {
      metrics.callbacks.inc({ outcome });
      metrics.httpRequests.inc({ route: "/callbacks", status: String(status) });
    },
    logger,
  );
  const httpServer = http.createServer((req, res) => (isCallbackRequest(req) ? ingress(req, res) : app(req, res)));

  const guard = new SessionGuard(runtime, () => db.orm.em.fork(), logger, config.websocket.maxSocketsPerUser);
  guard.start(config.subscriptions.accessCheckMs);
  const wsServer = serveWebSockets({
    httpServer,
    schema,
    runtime,
    em: () => db.orm.em.fork(),
    rules,
    formatError,
    guard,
    limits: config.websocket,
  });

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection: !config.production,
    hideSchemaDetailsFromClientErrors: config.production,
    includeStacktraceInErrorResponses: false,
    csrfPrevention: true,
    // main.ts owns the signals: it stops the whole service, not only Apollo.
    stopOnTerminationSignals: false,
    parseOptions: rules.parseOptions,
    validationRules: rules.validationRules,
    formatError,
    logger: {
      debug: (message) => logger.debug(message),
      info: (message) => logger.info(message),
      warn: (message) => logger.warn(message),
      error: (message) => logger.error(message),
    },
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginInlineTraceDisabled(),
      ...(config.production ? [ApolloServerPluginLandingPageDisabled()] : []),
      { async serverWillStart() { return { async drainServer() { await wsServer.dispose(); } }; } },
      authenticationPlugin(rules),
      subscriptionCallbackPlugin({
        policy: { origins: config.subscriptions.callbackOrigins, minHeartbeatMs: config.subscriptions.callbackMinHeartbeatMs },
        guard,
        logger,
      }),
      singleSensitiveFieldPlugin(rules),
      responseHeadersPlugin(),
      metricsPlugin(metrics),
    ],
  });
  await apollo.start();

  app.use((req, res, next) => {
    res.on("finish", () => {
      const route = ["/graphql", "/healthz", "/readyz", "/metrics", "/token", "/callbacks"].includes(req.path.replace(/\/$/, ""))
        ? req.path.replace(/\/$/, "")
        : "other";
      metrics.httpRequests.inc({ route, status: String(res.statusCode) });
    });
    next();
  });
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    const ready = await db.ping();
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "database unavailable" });
  });
  const metricsAllowed = metricsAccess(config);
  app.get("/metrics", async (req, res) => {
    const access = metricsAllowed(req.headers.authorization);
    if (access === "off") return void res.status(404).json({ errors: [{ message: "Not found" }] });
    if (access === "refused") {
      return void res.status(401).set("www-authenticate", "Bearer").json({ errors: [{ message: "/metrics needs its bearer token" }] });
    }
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.use(tokenRouter(runtime, () => db.orm.em.fork()));
  app.use(
    "/graphql",
    express.json({ limit: GRAPHQL_BODY_LIMIT }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        const em = db.orm.em.fork();
        const address = clientAddressOf(req);
        const auth = await authenticate(runtime, em, req.headers.authorization, address);
        return createContext(() => em, runtime, auth, {
          clientAddress: address,
          authorization: req.headers.authorization,
          fromTrustedProxy: runtime.addresses.isTrustedProxy(req.socket.remoteAddress),
        });
      },
    }),
  );
  app.use((_req, res) => {
    res.status(404).json({ errors: [{ message: "Not found" }] });
  });
  const errorHandler: ErrorRequestHandler = (error, _req, res, _next) => {
    const status = typeof error?.status === "number" && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) logger.error({ err: error }, "unhandled error in an HTTP request");
    const message =
      status === 500 ? "Internal server error" : error.type === "entity.parse.failed" ? "Malformed JSON body" : error.message;
    res.status(status).json({ errors: [{ message }] });
  };
  app.use(errorHandler);

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
    db,
    runtime,
    tokens,
    metrics,
    logger,
    close() {
      closing ??= (async () => {
        guard.stop();
        // Every subscription ends with SHUTTING_DOWN, then its socket closes (1001) or the router gets `complete`.
        guard.endAll(shuttingDown());
        await wsServer.drain(SHUTDOWN_DRAIN_MS);
        await runtime.feed.close();
        await runtime.events.close();
        await apollo.stop();
        await db.close();
      })();
      return closing;
    },
  };
}
