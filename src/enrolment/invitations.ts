import { UniqueConstraintViolationException, type EntityManager } from "@mikro-orm/core";
import { hashPassword, requireNewPassword } from "../access/password.js";
import { User } from "../access/user.entity.js";
import type { Viewer } from "../access/viewer.js";
import { AuditAction } from "../audit/audit.service.js";
import { auditedOperation } from "../audit/audited-operation.js";
import type { ProviderIdentity } from "../auth/identity.js";
import { IdentityLink } from "../auth/identity-link.entity.js";
import type { Clock } from "../clock.js";
import { generateInvitationToken, INVITATION_PREFIX } from "../credentials/generate.js";
import type { SecretHasher } from "../credentials/keys.js";
import { accountSuspended, badInput, DomainError, rateLimited } from "../domain-error.js";
import type { Logger } from "../logger.js";
import { FailureRateLimiter } from "../network/rate-limiter.js";
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

/** What accepting an invitation needs. */
export interface InvitationAcceptanceDependencies {
  hasher: SecretHasher;
  clock: Clock;
  /** Failed acceptances per client address (see {@link invitationFailureLimiter}). */
  failures: FailureRateLimiter;
}

/**
 * Failed acceptances per client address: 10 in 15 minutes, then the address waits for the window to end. Tokens
 * carry 256 bits, so this bounds what an anonymous caller can make the service spend (a hash and a lookup each),
 * not the odds of a guess.
 */
export function invitationFailureLimiter(clock: Clock): FailureRateLimiter {
  return new FailureRateLimiter("invitation", 10, 15 * 60_000, clock);
}

/** The shape of every token `generateInvitationToken` makes; anything else is refused before it is hashed. */
const INVITATION_TOKEN = new RegExp(`^${INVITATION_PREFIX}[A-Za-z0-9_-]{43}$`);
/** One answer for every token that cannot be used: unknown, malformed, expired or used. */
const INVALID_INVITATION = "The invitation is not valid";

export interface AcceptInvitationInput {
  /** The invitation token, as the Owner (or provisioning) handed it over. */
  token: string;
  /** The password to set: 12 to 1024 characters. */
  password: string;
  /**
   * Who an identity provider says the caller is (a bearer token that verified); when given, the provider's
   * subject is linked to the invited user, so that the provider's tokens sign in as that user from then on.
   */
  identity: ProviderIdentity | null;
  /**
   * The user the request's bearer token already signs in, if any: accepting someone else's invitation with it is
   * refused like a subject linked to another user, so that one person's sign-in never becomes another user's.
   */
  signedInUserId?: string | null;
  /** Where failures are counted and the audit entry says the call came from. */
  clientAddress: string;
  /** Where a failed audit write is reported. */
  logger: Pick<Logger, "error">;
}

/** The user who accepted; never a secret. */
export interface AcceptedInvitation {
  userId: string;
  email: string;
  /** True when a provider's subject was linked to the user. */
  identityLinked: boolean;
}

/**
 * Sets the invited user's password with a one-time invitation, for a caller who need not be signed in. The token
 * must match a stored hash, be unexpired and unused; it is marked used with a conditional update in the same
 * transaction as the password (and the identity link), so of two parallel acceptances exactly one wins. Every
 * unusable token gets the same BAD_USER_INPUT answer and counts as a failure of the client address; past the
 * limit the address is answered RATE_LIMITED without any token being looked at. An anonymous caller never makes
 * the service hash a password: that happens only once the token proved good. Audited as ACCEPT_INVITATION with
 * the invited user as actor once the token names one (an unknown token names no account to log it in).
 *
 * Runs its own transaction: call it with an entity manager that is not inside one.
 */
export async function acceptInvitation(
  em: EntityManager,
  deps: InvitationAcceptanceDependencies,
  input: AcceptInvitationInput,
): Promise<AcceptedInvitation> {
  const { clientAddress } = input;
  const retryAfter = await deps.failures.retryAfterSeconds(em, clientAddress);
  if (retryAfter > 0) {
    throw rateLimited(`Too many invalid invitations from this address; retry in ${retryAfter} s`, retryAfter);
  }
  const password = requireNewPassword(input.password, "password");
  const refuse = async (): Promise<DomainError> => {
    await deps.failures.recordFailure(em, clientAddress);
    return badInput(INVALID_INVITATION, "token");
  };
  if (typeof input.token !== "string" || !INVITATION_TOKEN.test(input.token)) throw await refuse();
  const invitation = await em.findOne(Invitation, { tokenHash: { $in: deps.hasher.candidates(input.token) } }, { populate: ["user.account"] });
  if (!invitation) throw await refuse();

  const user = invitation.user;
  const viewer: Viewer = { userId: user.id, accountId: user.account.id, email: user.email, kind: user.kind, isOwner: user.isOwner };
  return auditedOperation({ em, viewer, clientAddress, logger: input.logger }, AuditAction.ACCEPT_INVITATION, async (subject, commit) => {
    subject.targetUserId = user.id;
    const now = new Date(deps.clock.now());
    if (invitation.usedAt !== null || invitation.expiresAt <= now) throw await refuse();
    if (user.account.suspendedAt !== null) throw accountSuspended();
    if (input.signedInUserId && input.signedInUserId !== user.id) throw identityTaken();
    const passwordHash = await hashPassword(password);
    const identityLinked = input.identity !== null;
    const detail = identityLinked ? "Password set; sign-in identity linked" : "Password set";
    // Used or expired since it was read: a parallel acceptance won, and this one changes nothing.
    const lost = new Error("invitation claimed meanwhile");
    try {
      await commit(async (tx) => {
        const marked = await tx.nativeUpdate(
          Invitation,
          { id: invitation.id, usedAt: null, expiresAt: { $gt: now } },
          { usedAt: now },
        );
        if (marked === 0) throw lost;
        await tx.nativeUpdate(User, { id: user.id }, { passwordHash });
        if (input.identity) await linkIdentity(tx, user.id, input.identity, now);
      }, detail);
    } catch (error) {
      if (error === lost) throw await refuse();
      if (error instanceof UniqueConstraintViolationException) throw identityTaken();
      throw error;
    }
    return { result: { userId: user.id, email: user.email, identityLinked }, detail };
  });
}

/** The refusal of a sign-in that already is another user's: linked to them, or signing them in. */
function identityTaken(): DomainError {
  return new DomainError(
    "FORBIDDEN",
    "This sign-in already belongs to another user: accept the invitation without it, or with the invited person's own",
    { reason: "IDENTITY_ALREADY_LINKED" },
  );
}

/**
 * Links a provider's subject to a user, in the caller's transaction. A subject already linked to this user stays
 * as it is; one linked to another user is refused; a user's earlier subject of the same issuer is replaced, as
 * the invitation (from the Owner or the platform) is what says who the person is.
 */
async function linkIdentity(tx: EntityManager, userId: string, identity: ProviderIdentity, now: Date): Promise<void> {
  const existing = await tx.findOne(IdentityLink, { issuer: identity.issuer, subject: identity.subject });
  if (existing) {
    if (existing.user.id !== userId) throw identityTaken();
    return;
  }
  await tx.nativeDelete(IdentityLink, { user: userId, issuer: identity.issuer });
  tx.create(IdentityLink, { user: userId, issuer: identity.issuer, subject: identity.subject, createdAt: now });
  await tx.flush();
}
