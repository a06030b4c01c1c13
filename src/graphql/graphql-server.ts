import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { expressMiddleware } from "@as-integrations/express5";
import type { EntityManager } from "@mikro-orm/core";
import type { Tracer } from "@opentelemetry/api";
import express, { type Router } from "express";
import type { GraphQLFormattedError, GraphQLSchema } from "graphql";
import type http from "node:http";
import { authenticate, type AuthenticationServices } from "../auth/authenticate.js";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { AccountBudget } from "../network/account-budget.js";
import type { ClientAddressResolver } from "../network/client-address.js";
import { createContext, type GraphQLContext, type ResolverServices } from "./context.js";
import type { OperationRules } from "./operation-rules.js";
import { authenticationPlugin, metricsPlugin, responseHeadersPlugin, singleSensitiveFieldPlugin, tracingPlugin } from "./plugins.js";
import type { SessionGuard } from "./session-guard.js";
import { subscriptionCallbackPlugin } from "./subscription-callback.js";

/** Largest GraphQL request body accepted over HTTP. */
const GRAPHQL_BODY_LIMIT = "512kb";

/**
 * GraphQL over HTTP on `/graphql` (Apollo Server): the operation rules, the error formatter, the router's callback
 * mode, and a context per request with its caller. A request of an authenticated caller spends one operation of
 * its account's budget before anything else runs; past the budget it has no viewer, and the authentication plugin
 * refuses it as a whole (RATE_LIMITED, 429). Resolves once the server has started.
 */
export async function graphqlRouter(options: {
  schema: GraphQLSchema;
  rules: OperationRules;
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  config: Pick<Config, "production" | "subscriptions" | "shutdownTimeoutMs">;
  httpServer: http.Server;
  /** Stops what else serves GraphQL on the server (the WebSockets) when Apollo Server drains. */
  onDrain: () => Promise<void>;
  guard: SessionGuard;
  em: () => EntityManager;
  services: ResolverServices;
  authentication: AuthenticationServices;
  /** Charged once per request of an authenticated caller, a callback-mode subscription's start included. */
  budget: Pick<AccountBudget, "charge">;
  addresses: ClientAddressResolver;
  metrics: Metrics;
  logger: Logger;
  /** Traces each operation and its root fields (`tracingPlugin`); null when tracing is off. */
  tracer: Tracer | null;
}): Promise<{ router: Router; stop(): Promise<void> }> {
  const { config, logger, rules, addresses } = options;
  const apollo = new ApolloServer<GraphQLContext>({
    schema: options.schema,
    introspection: !config.production,
    hideSchemaDetailsFromClientErrors: config.production,
    includeStacktraceInErrorResponses: false,
    csrfPrevention: true,
    // main.ts owns the signals: it stops the whole service, not only Apollo.
    stopOnTerminationSignals: false,
    parseOptions: rules.parseOptions,
    validationRules: rules.validationRules,
    formatError: options.formatError,
    logger: {
      debug: (message) => logger.debug(message),
      info: (message) => logger.info(message),
      warn: (message) => logger.warn(message),
      error: (message) => logger.error(message),
    },
    plugins: [
      // First, so that its span covers what the other plugins do and refuse.
      ...(options.tracer ? [tracingPlugin(options.tracer)] : []),
      // A third of the shutdown's bound for the requests in flight; subscriptions and the event log share the rest.
      ApolloServerPluginDrainHttpServer({ httpServer: options.httpServer, stopGracePeriodMillis: Math.floor(config.shutdownTimeoutMs / 3) }),
      ApolloServerPluginInlineTraceDisabled(),
      ...(config.production ? [ApolloServerPluginLandingPageDisabled()] : []),
      { async serverWillStart() { return { drainServer: options.onDrain }; } },
      authenticationPlugin(rules),
      subscriptionCallbackPlugin({
        policy: { origins: config.subscriptions.callbackOrigins, minHeartbeatMs: config.subscriptions.callbackMinHeartbeatMs },
        guard: options.guard,
        logger,
      }),
      singleSensitiveFieldPlugin(rules),
      responseHeadersPlugin(),
      metricsPlugin(options.metrics),
    ],
  });
  await apollo.start();

  const router = express.Router();
  router.use(
    "/graphql",
    express.json({ limit: GRAPHQL_BODY_LIMIT }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        const em = options.em();
        const clientAddress = addresses.resolve(req.socket.remoteAddress, req.headers["x-forwarded-for"]);
        const authenticated = await authenticate(options.authentication, em, req.headers.authorization, clientAddress);
        const overBudget = authenticated.viewer && options.budget.charge(authenticated.viewer.accountId);
        const auth = overBudget ? { viewer: null, error: overBudget } : authenticated;
        return createContext(() => em, options.services, auth, {
          clientAddress,
          authorization: req.headers.authorization,
          fromTrustedProxy: addresses.isTrustedProxy(req.socket.remoteAddress),
        });
      },
    }),
  );
  return { router, stop: () => apollo.stop() };
}
