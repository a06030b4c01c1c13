import type { EntityManager } from "@mikro-orm/core";
import { UserKind } from "./roles.js";
import { User } from "./user.entity.js";

/** Who is calling: the authenticated user, resolved from the database on every request. */
export interface Viewer {
  userId: string;
  accountId: string;
  email: string;
  kind: UserKind;
  isOwner: boolean;
}

/** Loads the viewer for a user id taken from a verified token; null when no such user exists any more. */
export async function loadViewer(em: EntityManager, userId: string): Promise<Viewer | null> {
  const user = await em.findOne(User, { id: userId });
  if (!user) return null;
  return {
    userId: user.id,
    accountId: user.account.id,
    email: user.email,
    kind: user.kind,
    isOwner: user.isOwner,
  };
}
