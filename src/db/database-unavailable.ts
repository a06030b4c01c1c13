import { ConnectionException } from "@mikro-orm/core";

/** SQLSTATEs of a database that cannot serve now: connection exceptions (08) and a server shutting down or starting. */
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-3])/;
/** Socket errors on the way to the database. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
/**
 * What the PostgreSQL client and the pool say when no answer came: a statement past its timeout, a connection that
 * did not open in time or ended, a request that found no free connection in time. They carry no code to match.
 */
const UNANSWERED_MESSAGES = [
  /Query read timeout$/,
  /^timeout expired$/,
  /Connection terminated( unexpectedly)?$/,
  /Client (was closed|has encountered a connection error) and is not queryable$/,
  /^Knex: Timeout acquiring a connection/,
];

/**
 * Whether an error says that the database did not answer (unreachable, hung, the connection lost) rather than that
 * it refused a statement: the same request may succeed later, so it is answered "unavailable, retry" and never as
 * the caller's mistake or an internal error.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof ConnectionException) return true;
  if (!(error instanceof Error)) return false;
  const { code } = error as { code?: unknown };
  if (typeof code === "string" && (UNAVAILABLE_SQLSTATE.test(code) || NETWORK_CODES.has(code))) return true;
  return error.name === "KnexTimeoutError" || UNANSWERED_MESSAGES.some((pattern) => pattern.test(error.message));
}
