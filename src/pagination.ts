import { badInput } from "./domain-error.js";

/** Page size when `first` is not given. */
export const DEFAULT_PAGE_SIZE = 20;
/** Largest accepted `first`. */
export const MAX_PAGE_SIZE = 100;
/** Longest accepted `after` cursor. */
export const MAX_CURSOR_LENGTH = 200;

const PREFIX = "c1:";

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

/** A validated page request: how many rows, and the sort key to start after. */
export interface PageRequest {
  limit: number;
  afterKey: string | null;
}

export interface Page<T> {
  items: { node: T; cursor: string }[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

/** Cursors are opaque to clients: base64url of a versioned sort key. */
export function encodeCursor(key: string): string {
  return Buffer.from(PREFIX + key, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): string {
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw badInput("after is not a cursor returned by this API", "after");
  }
  const decoded = Buffer.from(cursor, "base64url").toString("utf8");
  if (!decoded.startsWith(PREFIX) || decoded.length === PREFIX.length) {
    throw badInput("after is not a cursor returned by this API", "after");
  }
  return decoded.slice(PREFIX.length);
}

export function parsePageArgs(args: PageArgs): PageRequest {
  const first = args.first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw badInput(`first must be between 1 and ${MAX_PAGE_SIZE}`, "first");
  }
  return { limit: first, afterKey: args.after == null ? null : decodeCursor(args.after) };
}

/** Builds a page from up to `limit + 1` rows sorted by `key`; the extra row only says there is a next page. */
export function toPage<T>(rows: T[], request: PageRequest, key: (row: T) => string): Page<T> {
  const visible = rows.slice(0, request.limit);
  return {
    items: visible.map((node) => ({ node, cursor: encodeCursor(key(node)) })),
    hasNextPage: rows.length > request.limit,
    hasPreviousPage: request.afterKey !== null,
  };
}
