/**
 * The closed set of error codes this service answers with. GraphQL puts the code in `extensions.code`; REST
 * routes map it to an HTTP status (see `src/graphql/error-mapping.ts` and the REST adapters).
 */
export type ErrorCode =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "BAD_USER_INPUT"
  | "NOT_FOUND"
  | "CONFIRMATION_FAILED"
  | "RATE_LIMITED"
  | "SERVICE_UNAVAILABLE";

/**
 * A refusal the caller can act on. Its message is shown to the client as is, so it must never carry a secret or
 * an internal detail. Anything else thrown is answered as an internal error with a generic message.
 */
export class DomainError extends Error {
  override name = "DomainError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const unauthenticated = (message = "Authentication required: send a valid bearer token") =>
  new DomainError("UNAUTHENTICATED", message);
export const forbidden = (message: string) => new DomainError("FORBIDDEN", message);
export const badInput = (message: string, field?: string) =>
  new DomainError("BAD_USER_INPUT", message, field === undefined ? {} : { field });
export const notFound = (message: string) => new DomainError("NOT_FOUND", message);
