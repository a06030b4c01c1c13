import type { ApolloServerPlugin } from "@apollo/server";
import { SpanKind, SpanStatusCode, trace, type Tracer } from "@opentelemetry/api";
import { GraphQLError } from "graphql";
import { DomainError, unauthenticated } from "../domain-error.js";
import type { Metrics } from "../metrics.js";
import { contextOf, failSpan } from "../tracing/tracing.js";
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

/** The code an error is answered with: a domain error's own, a GraphQL error's `extensions.code`, or none. */
function codeOf(error: Error): string | undefined {
  if (error instanceof DomainError) return error.code;
  if (error instanceof GraphQLError) {
    const code = error.originalError instanceof DomainError ? error.originalError.code : error.extensions.code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

/**
 * Traces each operation over HTTP: a span named by its type and name (`query Wallets`; `GraphQL Operation` until
 * the operation is known), the child of the caller's W3C `traceparent` (the router sends it), with a child span
 * per root field of a query or mutation (`Query.wallets`), which is where resolvers read and write the database.
 * A response with errors marks the operation's span failed with the first error's code (`error.type`). The
 * operation's span is the context's `trace`, so that a subscription started by the request (the router's
 * callback mode) links its deliveries to it.
 */
export function tracingPlugin(tracer: Tracer): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart({ request, contextValue }) {
      const parent = contextOf(request.http?.headers);
      const span = tracer.startSpan(
        "GraphQL Operation",
        { kind: SpanKind.SERVER, attributes: { "http.request.method": request.http?.method ?? "POST", "url.path": "/graphql" } },
        parent,
      );
      const scope = { tracer, context: trace.setSpan(parent, span) };
      contextValue.trace = scope;
      return {
        async didResolveOperation({ operation }) {
          if (!operation) return;
          const type = operation.operation;
          const name = operation.name?.value;
          span.updateName(name ? `${type} ${name}` : type);
          span.setAttribute("graphql.operation.type", type);
          if (name) span.setAttribute("graphql.operation.name", name);
        },
        async executionDidStart({ operation }) {
          if (operation.operation === "subscription") return;
          return {
            willResolveField({ info }) {
              if (info.path.prev !== undefined) return;
              const field = tracer.startSpan(
                `${info.parentType.name}.${info.fieldName}`,
                { attributes: { "graphql.field.name": info.fieldName, "graphql.field.path": String(info.path.key) } },
                scope.context,
              );
              return (error) => {
                if (error) failSpan(field, error, codeOf(error));
                field.end();
              };
            },
          };
        },
        async willSendResponse({ response }) {
          span.setAttribute("http.response.status_code", response.http.status ?? 200);
          const errors = response.body.kind === "single" ? response.body.singleResult.errors : undefined;
          const first = errors?.[0];
          if (first) {
            span.setAttribute("error.type", String(first.extensions?.code ?? "ERROR"));
            span.setStatus({ code: SpanStatusCode.ERROR, message: first.message });
          }
          span.end();
        },
      };
    },
  };
}
