import type { NewEvent, WriteResult } from "./event.js";

/** The database the writer thread writes to, and how. */
export type WriterTarget =
  | { dialect: "sqlite"; filename: string }
  | {
      dialect: "postgresql";
      databaseUrl: string;
      /** The channel every instance's feed listens on (`event-feed.ts`). */
      notifyChannel: string;
      timeoutMs?: number;
      connectTimeoutMs?: number;
    };

/** A batch to append; or the request to close the writer's connection and end the thread. */
export type WriterRequest = { id: number; events: NewEvent[] } | { close: true };

/**
 * What the thread tells the service's thread: a batch's results, or why nothing of it was stored, with the number
 * of statements it ran; or a warning for the service's logger.
 */
export type WriterAnswer =
  | { id: number; statements: number; results: WriteResult[] }
  | { id: number; statements: number; failure: Failure }
  | { warning: string; failure: Failure };

/** An error as it crosses between threads: what tells a database that did not answer from one that refused. */
export interface Failure {
  name: string;
  message: string;
  code?: string;
}

export function failureOf(error: unknown): Failure {
  const { name, message, code } = error as { name?: unknown; message?: unknown; code?: unknown };
  return {
    name: typeof name === "string" ? name : "Error",
    message: typeof message === "string" ? message : String(error),
    ...(code === undefined ? {} : { code: String(code) }),
  };
}

/** The error a failure stands for, on the service's thread (`isDatabaseUnavailable` reads it as it read the original). */
export function errorOf(failure: Failure): Error {
  const error = new Error(failure.message) as Error & { code?: string };
  error.name = failure.name;
  if (failure.code !== undefined) error.code = failure.code;
  return error;
}
