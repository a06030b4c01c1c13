import { unwrapResolverError } from "@apollo/server/errors";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { isDatabaseUnavailable } from "../db/database-unavailable.js";
import { DomainError, type ErrorCode } from "../domain-error.js";
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

/** HTTP statuses of operations refused as a whole, before anything ran, by code; any other code answers 400. */
const REFUSAL_STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  ACCOUNT_SUSPENDED: 403,
  RATE_LIMITED: 429,
  LIMIT_EXCEEDED: 429,
};

/**
 * The HTTP status (and headers) of an operation refused as a whole with a domain error before anything ran, in
 * Apollo Server's `extensions.http` shape: 401 without a valid token, 403 for a caller who may not (a suspended
 * account included), 429 past a budget, with `Retry-After` when the error says when to retry.
 */
export function refusalHttp(error: DomainError): { status: number; headers: Map<string, string> } {
  const headers = new Map<string, string>();
  const retryAfter = error.details.retryAfterSeconds;
  if (typeof retryAfter === "number") headers.set("retry-after", String(retryAfter));
  return { status: REFUSAL_STATUS[error.code] ?? 400, headers };
}

/**
 * An error Apollo Server's request pipeline raises without a code for a request it refuses with a 4xx status (a
 * persisted query whose hash does not match its text): the client's mistake, with a message safe to show.
 */
function isRequestRefusal(error: unknown): boolean {
  const status = (error instanceof GraphQLError ? (error.extensions.http as { status?: unknown } | undefined) : undefined)?.status;
  return typeof status === "number" && status >= 400 && status < 500;
}

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
    if (isDatabaseUnavailable(original)) {
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
    // Apollo Server gives an error without a code INTERNAL_SERVER_ERROR, a request it refused with a 4xx included.
    if (isRequestRefusal(original)) return { ...base, extensions: { code: "BAD_REQUEST" } };
    logger.error({ err: original, path: formatted.path }, "internal error in a GraphQL operation");
    return { ...base, message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } };
  };
}
