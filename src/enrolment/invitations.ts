import type { EntityManager } from "@mikro-orm/core";
import type { Clock } from "../clock.js";
import { generateInvitationToken } from "../credentials/generate.js";
import type { SecretHasher } from "../credentials/keys.js";
import { Invitation } from "./invitation.entity.js";

/** What issuing an invitation needs. */
export interface InvitationDependencies {
  hasher: SecretHasher;
  clock: Clock;
  /** How long an invitation stays valid (`INVITATION_TTL_SECONDS`). */
  ttlMs: number;
}

/** An invitation as shown, once, to whoever hands it to the user. */
export interface IssuedInvitation {
  token: string;
  expiresAt: Date;
}

/**
 * Issues an invitation to set a password for a user: a fresh token, of which only the keyed hash is stored;
 * the user's earlier invitations that were not used stop working. Flushed with `em`, so that inside a
 * transaction it is part of it.
 */
export async function issueInvitation(em: EntityManager, deps: InvitationDependencies, userId: string): Promise<IssuedInvitation> {
  const now = deps.clock.now();
  await em.nativeDelete(Invitation, { user: userId, usedAt: null });
  const token = generateInvitationToken();
  const expiresAt = new Date(now + deps.ttlMs);
  em.create(Invitation, { user: userId, tokenHash: deps.hasher.hash(token), expiresAt, createdAt: new Date(now) });
  await em.flush();
  return { token, expiresAt };
}
