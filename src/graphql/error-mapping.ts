import { unwrapResolverError } from "@apollo/server/errors";
import { ConnectionException } from "@mikro-orm/core";
import type { GraphQLFormattedError } from "graphql";
import { DomainError } from "../domain-error.js";
import type { Logger } from "../logger.js";

/** Codes raised by Apollo Server or graphql-js for client mistakes; their messages are safe to show. */
const CLIENT_ERROR_CODES = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
  "OPERATION_RESOLUTION_FAILURE",
]);

/**
 * The one place where errors become what a GraphQL client sees: domain errors keep their code and message,
 * client mistakes keep Apollo's code, an unreachable database says so (retry later), and anything else becomes
 * a generic internal error, logged here with its stack and never sent.
 */
/** The innermost cause of an error, following `originalError` links (GraphQL wraps what resolvers throw). */
function rootCause(error: unknown): unknown {
  let current = unwrapResolverError(error);
  for (let depth = 0; depth < 5; depth++) {
    const inner = (current as { originalError?: unknown } | null)?.originalError;
    if (!inner) break;
    current = inner;
  }
  return current;
}

export function createErrorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = rootCause(error);
    const base = { message: formatted.message, locations: formatted.locations, path: formatted.path };
    if (original instanceof DomainError) {
      return { ...base, message: original.message, extensions: { ...original.details, code: original.code } };
    }
    if (original instanceof ConnectionException) {
      logger.warn({ err: original }, "database unavailable during a GraphQL operation");
      return {
        ...base,
        message: "The database is unavailable; retry later",
        extensions: { code: "SERVICE_UNAVAILABLE" },
      };
    }
    const code = formatted.extensions?.code;
    if (typeof code === "string" && CLIENT_ERROR_CODES.has(code)) {
      return { ...base, extensions: { code } };
    }
    logger.error({ err: original, path: formatted.path }, "internal error in a GraphQL operation");
    return { ...base, message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } };
  };
}
