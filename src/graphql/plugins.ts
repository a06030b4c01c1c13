import type { ApolloServerPlugin } from "@apollo/server";
import {
  GraphQLError,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
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
            extensions: { code: error.code, http: { status: error.code === "FORBIDDEN" ? 403 : 401 } },
            originalError: error,
          });
        },
      };
    },
  };
}

/** The root field names an operation selects, looking through fragments. */
function rootFieldNames(operation: OperationDefinitionNode, document: DocumentNode): string[] {
  const fragments = new Map(
    document.definitions
      .filter((definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION)
      .map((fragment) => [fragment.name.value, fragment]),
  );
  const names: string[] = [];
  const seen = new Set<string>();
  const walk = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) names.push(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment.selectionSet);
      }
    }
  };
  walk(operation.selectionSet);
  return names;
}

/**
 * Refuses an operation that selects a sensitive root field beside any other root field: each sensitive
 * mutation spends a one-time code and is audited on its own, and aliases must not multiply guesses.
 */
export function singleSensitiveFieldPlugin(fields: readonly string[]): ApolloServerPlugin<GraphQLContext> {
  const sensitive = new Set(fields);
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document }) {
          if (!operation) return;
          const names = rootFieldNames(operation, document);
          if (names.length > 1 && names.some((name) => sensitive.has(name))) {
            throw new GraphQLError(`${[...sensitive].join(", ")} must be sent alone, one per request`, {
              extensions: { code: "BAD_USER_INPUT", http: { status: 400 } },
            });
          }
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
