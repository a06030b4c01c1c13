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
  /** A confirmation asked of a user who has not set a password or turned on the authenticator yet. */
  | "ENROLMENT_REQUIRED"
  /** A cursor from before what the event log still keeps (retention pruned the events after it). */
  | "CURSOR_EXPIRED"
  /** A cursor from a history the event log no longer has (it was restored from a backup), or never had. */
  | "CURSOR_RESTORED"
  /** The account is suspended by the platform: its users and API user are refused. */
  | "ACCOUNT_SUSPENDED"
  | "LIMIT_EXCEEDED"
  | "SLOW_CONSUMER"
  | "SHUTTING_DOWN"
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

  /**
   * The code and details as GraphQL extensions. graphql-js copies `extensions` from the error it wraps, so the code
   * reaches the client on every path that wraps it (graphql-ws, the router's callback mode), formatted or not.
   */
  get extensions(): Record<string, unknown> {
    return { ...this.details, code: this.code };
  }
}

export const unauthenticated = (message = "Authentication required: send a valid bearer token") =>
  new DomainError("UNAUTHENTICATED", message);
export const forbidden = (message: string) => new DomainError("FORBIDDEN", message);
export const badInput = (message: string, field?: string) =>
  new DomainError("BAD_USER_INPUT", message, field === undefined ? {} : { field });
export const notFound = (message: string) => new DomainError("NOT_FOUND", message);
/**
 * Why a subscription ends before its client asked (docs/subscriptions.md): every transport sends this error to
 * the client as the subscription's last message.
 */
export const tokenExpired = () => new DomainError("UNAUTHENTICATED", "Token expired");
export const accessChanged = () => new DomainError("FORBIDDEN", "Access changed: subscribe again");
export const slowConsumer = () =>
  new DomainError("SLOW_CONSUMER", "Slow consumer: resume from the last cursor received");
export const shuttingDown = () =>
  new DomainError("SHUTTING_DOWN", "The server is shutting down: resume from the last cursor received");

export const enrolmentRequired = (message: string, missing: "password" | "authenticator") =>
  new DomainError("ENROLMENT_REQUIRED", message, { missing });
/**
 * A cursor below what retention kept: resuming from it would skip pruned events. `earliestCursor` resumes with
 * every event still kept.
 */
export const cursorExpired = (earliestCursor: string) =>
  new DomainError("CURSOR_EXPIRED", "Events after this cursor were pruned by retention: resume from earliestCursor", { earliestCursor });
/**
 * A cursor from a history the event log does not have: events after it were lost when the database was restored
 * from a backup (their numbers now stand for other events), or it comes from another database. `resumeCursor`
 * reads again from the last position both histories share.
 */
export const cursorRestored = (resumeCursor: string) =>
  new DomainError(
    "CURSOR_RESTORED",
    "The event log was restored from a backup and does not have the events this cursor follows: read again from resumeCursor",
    { resumeCursor },
  );
export const accountSuspended = () => new DomainError("ACCOUNT_SUSPENDED", "The account is suspended");
/** Past a request budget; `retryAfterSeconds` says when the next request may be made. */
export const rateLimited = (message: string, retryAfterSeconds: number) =>
  new DomainError("RATE_LIMITED", message, { retryAfterSeconds });

/** A limit on what one caller may hold open (sockets, operations); `limit` names the setting. */
export const limitExceeded = (message: string, limit: string) => new DomainError("LIMIT_EXCEEDED", message, { limit });
