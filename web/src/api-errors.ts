import { CombinedGraphQLErrors, CombinedProtocolErrors, ServerError } from "@apollo/client";

/** One refusal as the API words it: its message, and its `extensions` (with `code`). */
export interface ApiError {
  message: string;
  code: string | null;
  extensions: Record<string, unknown>;
}

/** A GraphQL error object of an answer, from Apollo or from graphql-ws. */
interface GraphQLErrorLike {
  message: string;
  extensions?: Record<string, unknown> | null;
}

export function fromGraphQLErrors(errors: readonly GraphQLErrorLike[]): ApiError[] {
  return errors.map((error) => ({
    message: error.message,
    code: typeof error.extensions?.code === "string" ? error.extensions.code : null,
    extensions: error.extensions ?? {},
  }));
}

/**
 * What went wrong with an operation, in the API's words when the API answered; otherwise what the browser saw
 * (the router did not answer, or answered something that is not GraphQL).
 */
export function apiErrors(error: unknown): ApiError[] {
  if (CombinedGraphQLErrors.is(error)) return fromGraphQLErrors(error.errors);
  if (CombinedProtocolErrors.is(error)) return fromGraphQLErrors(error.errors);
  if (ServerError.is(error)) {
    const body = parseBody(error.bodyText);
    if (body) return body;
    return [{ message: `The router answered HTTP ${error.statusCode}`, code: null, extensions: {} }];
  }
  const message = error instanceof Error ? error.message : String(error);
  return [{ message: `The router could not be reached: ${message}`, code: null, extensions: {} }];
}

/** The errors of a GraphQL answer that came with an HTTP error status. */
function parseBody(text: string): ApiError[] | null {
  try {
    const body = JSON.parse(text) as { errors?: unknown };
    if (Array.isArray(body.errors) && body.errors.every((entry) => typeof entry?.message === "string")) {
      return fromGraphQLErrors(body.errors as GraphQLErrorLike[]);
    }
  } catch {
    // Not JSON: the status says what there is to say.
  }
  return null;
}

export function hasCode(errors: readonly ApiError[], code: string): boolean {
  return errors.some((error) => error.code === code);
}
