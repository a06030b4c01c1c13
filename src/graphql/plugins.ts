import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError } from "graphql";
import { unauthenticated } from "../domain-error.js";
import type { Metrics } from "../metrics.js";
import type { GraphQLContext } from "./context.js";
import { refusalHttp } from "./error-mapping.js";
import { isAnonymousOperation, sensitiveFieldRefusal, type OperationRules } from "./operation-rules.js";

/**
 * Refuses an operation as a whole, before anything executes, when there is no viewer: the answer is the reason
 * (`authError`: UNAUTHENTICATED, FORBIDDEN, ACCOUNT_SUSPENDED, RATE_LIMITED) with its HTTP status and no data.
 */
export function authenticationPlugin(rules: OperationRules): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operation }) {
          if (contextValue.viewer || (operation && isAnonymousOperation(operation, rules))) return;
          const error = contextValue.authError ?? unauthenticated();
          // Apollo Server reads `http` (a status and a Map of headers) and leaves it out of the response.
          const extensions: Record<string, unknown> = { ...error.extensions, http: refusalHttp(error) };
          throw new GraphQLError(error.message, {
            extensions,
            originalError: error,
          });
        },
      };
    },
  };
}

/**
 * Refuses an operation that selects a sensitive root field beside any other root field: each sensitive
 * mutation spends a one-time code and is audited on its own, and aliases must not multiply guesses.
 */
export function singleSensitiveFieldPlugin(rules: OperationRules): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document }) {
          const refusal = operation && sensitiveFieldRefusal(operation, document, rules);
          if (refusal) throw refusal;
        },
      };
    },
  };
}

/** Adds the headers resolvers asked for (`context.responseHeaders`) to the HTTP response. */
export function responseHeadersPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          for (const [name, value] of contextValue.responseHeaders) response.http.headers.set(name, value);
        },
      };
    },
  };
}

/** Counts operations by type and outcome (ok, or the first error code) and times them. */
export function metricsPlugin(metrics: Metrics): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      const stop = metrics.graphqlDuration.startTimer();
      return {
        async willSendResponse({ operation, response }) {
          const type = operation?.operation ?? "unknown";
          const errors = response.body.kind === "single" ? response.body.singleResult.errors : undefined;
          const outcome = errors?.length ? String(errors[0]!.extensions?.code ?? "ERROR") : "ok";
          metrics.graphqlOperations.inc({ type, outcome });
          stop({ type });
        },
      };
    },
  };
}
