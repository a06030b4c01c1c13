import type { RunStatement, Statement } from "../db/statement.js";
import { UserKind } from "./roles.js";

/** Who is calling: the authenticated user, resolved from the database on every request. */
export interface Viewer {
  userId: string;
  accountId: string;
  email: string;
  kind: UserKind;
  isOwner: boolean;
}

/**
 * A viewer as authentication reads it: the user, whether the platform suspended its account, and the account's
 * access version as of the same read (see `access-version.ts`).
 */
export interface ViewerRecord {
  viewer: Viewer;
  accountSuspended: boolean;
  accessVersion: number;
}

/**
 * The start of every statement that reads a viewer: the user joined with its account, so that the account's
 * suspension and access version cost no statement of their own. A statement adds its `where` clause on `u` (the user).
 */
export const SELECT_VIEWER =
  "select u.id, u.account_id, u.email, u.kind, u.is_owner, a.suspended_at, a.access_version from app_user u join account a on a.id = u.account_id";

type ViewerRow = {
  id: string;
  account_id: string;
  email: string;
  kind: UserKind;
  is_owner: boolean | number;
  suspended_at: Date | string | number | null;
  access_version: number | string;
};

/** Runs one statement that starts with {@link SELECT_VIEWER}; null when it names no user. */
export async function readViewerRecord(run: RunStatement, statement: Statement, params: unknown[]): Promise<ViewerRecord | null> {
  const [row] = await run<ViewerRow>(statement, params);
  if (!row) return null;
  return {
    viewer: { userId: row.id, accountId: row.account_id, email: row.email, kind: row.kind, isOwner: Boolean(row.is_owner) },
    accountSuspended: row.suspended_at !== null && row.suspended_at !== undefined,
    accessVersion: Number(row.access_version),
  };
}

const VIEWER_BY_ID: Statement = { name: "viewer_by_id", text: `${SELECT_VIEWER} where u.id = ?` };

/**
 * The viewer a user id names, with its account's suspension; null when no such user exists any more. Every request
 * and every socket does this, so it is one fixed statement read as it is, not an entity.
 */
export function loadViewerRecord(run: RunStatement, userId: string): Promise<ViewerRecord | null> {
  return readViewerRecord(run, VIEWER_BY_ID, [userId]);
}

/** The viewer a user id names; null when no such user exists any more. */
export async function loadViewer(run: RunStatement, userId: string): Promise<Viewer | null> {
  return (await loadViewerRecord(run, userId))?.viewer ?? null;
}
