import type { EntityManager } from "@mikro-orm/core";
import type { SqlEntityManager } from "@mikro-orm/knex";
import { UserKind } from "./roles.js";

/** Who is calling: the authenticated user, resolved from the database on every request. */
export interface Viewer {
  userId: string;
  accountId: string;
  email: string;
  kind: UserKind;
  isOwner: boolean;
}

const VIEWER = "select id, account_id, email, kind, is_owner from app_user where id = ?";

/**
 * Loads the viewer for a user id taken from a verified token; null when no such user exists any more. Every
 * request and every socket does this, so it is one fixed statement read as it is, not an entity.
 */
export async function loadViewer(em: EntityManager, userId: string): Promise<Viewer | null> {
  const [row] = await (em as SqlEntityManager).execute<
    { id: string; account_id: string; email: string; kind: UserKind; is_owner: boolean | number }[]
  >(VIEWER, [userId]);
  if (!row) return null;
  return { userId: row.id, accountId: row.account_id, email: row.email, kind: row.kind, isOwner: Boolean(row.is_owner) };
}
