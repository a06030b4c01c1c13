import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError, Kind, type OperationDefinitionNode } from "graphql";
import { unauthenticated } from "../domain-error.js";
import type { Metrics } from "../metrics.js";
import type { GraphQLContext } from "./context.js";

/** Root fields answered without a token outside production: introspection and the federation SDL. */
const ANONYMOUS_FIELDS = new Set(["__typename", "__schema", "__type", "_service"]);

function isAnonymous(operation: OperationDefinitionNode, production: boolean): boolean {
  return operation.selectionSet.selections.every(
    (selection) =>
      selection.kind === Kind.FIELD &&
      (selection.name.value === "__typename" || (!production && ANONYMOUS_FIELDS.has(selection.name.value))),
  );
}

/**
 * Refuses an operation as a whole, before anything executes, when the caller is not authenticated: the answer
 * is UNAUTHENTICATED with HTTP 401 and no data.
 */
export function authenticationPlugin(production: boolean): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operation }) {
          if (contextValue.viewer || (operation && isAnonymous(operation, production))) return;
          const error = contextValue.authError ?? unauthenticated();
          throw new GraphQLError(error.message, {
            extensions: { code: error.code, http: { status: 401 } },
            originalError: error,
          });
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
