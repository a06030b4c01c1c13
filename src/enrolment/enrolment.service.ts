import type { EntityManager } from "@mikro-orm/core";
import { hashPassword, requireNewPassword } from "../access/password.js";
import { UserKind } from "../access/roles.js";
import { User } from "../access/user.entity.js";
import type { Viewer } from "../access/viewer.js";
import { AuditAction, type AuditSubject } from "../audit/audit.service.js";
import { auditedOperation } from "../audit/audited-operation.js";
import { confirmedOperation, type ConfirmedContext } from "../confirmation/confirmed-operation.js";
import { confirmStepUp, throttledCheck, type Confirmation, type StepUpDependencies } from "../confirmation/step-up.js";
import { generateTotpSecret, normaliseTotpSecret, openTotpSecret, sealTotpSecret, totpStepOf, totpUrl } from "../confirmation/totp.js";
import { badInput, forbidden, notFound } from "../domain-error.js";
import { requireUserId } from "../input-validation.js";
import {
  invitationFailureLimiter,
  issueInvitation,
  type InvitationAcceptanceDependencies,
  type InvitationDependencies,
  type IssuedInvitation,
} from "./invitations.js";
import { deleteRecoveryCodes, RECOVERY_CODE_COUNT, replaceRecoveryCodes, unusedRecoveryCodes } from "./recovery-codes.js";

/** What enrolment needs besides the request. */
export interface EnrolmentDependencies {
  /** Confirming with the current factors; its box seals authenticator secrets, its hasher recovery codes. */
  stepUp: StepUpDependencies;
  /** Issuing invitations (a reset password's) and accepting them. */
  invitations: InvitationDependencies & InvitationAcceptanceDependencies;
}

/** The enrolment dependencies of a service: its step-up and `INVITATION_TTL_SECONDS`. */
export function enrolmentDependencies(stepUp: StepUpDependencies, invitationTtlSeconds: number): EnrolmentDependencies {
  return {
    stepUp,
    invitations: {
      hasher: stepUp.hasher,
      clock: stepUp.clock,
      ttlMs: invitationTtlSeconds * 1000,
      failures: invitationFailureLimiter(stepUp.clock),
    },
  };
}

/** What a user has set up to confirm sensitive operations, as the settings page shows it; never a secret. */
export interface ConfirmationFactors {
  hasPassword: boolean;
  /** An authenticator whose first code was confirmed: its codes confirm operations. */
  authenticatorActive: boolean;
  /** An authenticator being turned on, waiting for its first code. */
  authenticatorPending: boolean;
  /** Recovery codes not used yet (0 without an active authenticator). */
  recoveryCodesRemaining: number;
}

/** A user's confirmation factors, read afresh (the request may hold the user without its secret columns). */
export async function confirmationFactors(em: EntityManager, userId: string): Promise<ConfirmationFactors> {
  const fork = em.fork();
  const user = await fork.findOne(
    User,
    { id: userId },
    { populate: ["passwordHash", "totpSecretEncrypted", "pendingTotpSecretEncrypted"] },
  );
  const authenticatorActive = Boolean(user?.totpSecretEncrypted);
  return {
    hasPassword: Boolean(user?.passwordHash),
    authenticatorActive,
    authenticatorPending: Boolean(user?.pendingTotpSecretEncrypted),
    recoveryCodesRemaining: authenticatorActive ? await unusedRecoveryCodes(fork, userId) : 0,
  };
}

/** The API user has neither password nor authenticator: it authenticates with API credentials. */
function requirePerson(viewer: Viewer): void {
  if (viewer.kind !== UserKind.HUMAN) {
    throw forbidden("The API user has no password or authenticator: it signs in with API credentials");
  }
}

/** An authenticator as shown, once, to be added to an authenticator app. */
export interface AuthenticatorEnrolment {
  /** The otpauth:// URL to show as a QR code. */
  otpauthUrl: string;
  /** The same secret in base32, for typing it in. */
  secret: string;
}

export interface StartAuthenticatorEnrolmentInput {
  /**
   * The current factors (password and a current code or a recovery code): required when the user already has an
   * active authenticator, which the new one is to replace; not asked for otherwise.
   */
  confirmation?: Confirmation | null;
  /** A given base32 secret (the demo seed's known one); a new random one when absent. */
  secret?: string | null;
}

/**
 * Starts turning on the authenticator: a new secret, stored sealed as the pending one (replacing a pending one),
 * shown once. It counts only once a first code from it is confirmed ({@link confirmAuthenticatorEnrolment}); until
 * then an active authenticator stays as it is. Replacing an active one needs the current factors. Audited as
 * ENROL_AUTHENTICATOR.
 */
export function startAuthenticatorEnrolment(
  context: ConfirmedContext,
  input: StartAuthenticatorEnrolmentInput,
): Promise<AuthenticatorEnrolment> {
  const { em, viewer, stepUp } = context;
  return auditedOperation(context, AuditAction.ENROL_AUTHENTICATOR, async (subject, commit) => {
    subject.targetUserId = viewer.userId;
    requirePerson(viewer);
    const secret = input.secret == null ? generateTotpSecret() : givenTotpSecret(input.secret);
    const { authenticatorActive } = await confirmationFactors(em, viewer.userId);
    if (authenticatorActive) {
      if (!input.confirmation || typeof input.confirmation !== "object") {
        throw badInput(
          "The authenticator is on: replacing it needs confirmation with your password and a current code or a recovery code",
          "confirmation",
        );
      }
      await confirmStepUp(em, stepUp, viewer.userId, input.confirmation);
    }
    const detail = authenticatorActive ? "Replacement authenticator started" : "Authenticator enrolment started";
    await commit(
      (tx) => tx.nativeUpdate(User, { id: viewer.userId }, { pendingTotpSecretEncrypted: sealTotpSecret(stepUp.box, viewer.userId, secret) }),
      detail,
    );
    return { result: { otpauthUrl: totpUrl(viewer.email, secret), secret }, detail };
  });
}

function givenTotpSecret(value: string): string {
  try {
    return normaliseTotpSecret(value);
  } catch (error) {
    throw badInput((error as Error).message, "secret");
  }
}

export interface ConfirmAuthenticatorEnrolmentInput {
  /** The 6-digit code the new authenticator shows. */
  otp: string;
}

/** The outcome of turning on the authenticator: its recovery codes, shown this once. */
export interface EnrolledAuthenticator {
  recoveryCodes: string[];
}

/**
 * Turns on the authenticator being set up, once a code from it checks: it becomes the active one (replacing any
 * earlier one), the code's time step is recorded as used (so that code never confirms an operation), and the
 * user's recovery codes are replaced with {@link RECOVERY_CODE_COUNT} new ones, returned this once. Wrong codes
 * count as failed confirmations (the same counter, back-off and lock); a right one does not end a round of
 * failures, as it proves nothing of the password. Audited as ENROL_AUTHENTICATOR.
 */
export function confirmAuthenticatorEnrolment(
  context: ConfirmedContext,
  input: ConfirmAuthenticatorEnrolmentInput,
): Promise<EnrolledAuthenticator> {
  const { em, viewer, stepUp } = context;
  return auditedOperation(context, AuditAction.ENROL_AUTHENTICATOR, async (subject, commit) => {
    subject.targetUserId = viewer.userId;
    requirePerson(viewer);
    const otp = input.otp;
    if (typeof otp !== "string" || !/^\d{6}$/.test(otp)) throw badInput("otp must be the 6-digit code the authenticator shows", "otp");
    const pending = (await em.fork().findOne(User, { id: viewer.userId }, { populate: ["pendingTotpSecretEncrypted"] }))
      ?.pendingTotpSecretEncrypted;
    if (!pending) throw badInput("No authenticator is being turned on: start with startAuthenticatorEnrolment", "otp");

    await throttledCheck(
      em,
      stepUp,
      viewer.userId,
      async (_state, now) => {
        const step = totpStepOf(openTotpSecret(stepUp.box, viewer.userId, pending), otp, now);
        return step === null ? null : { step };
      },
      { failureMessage: "The one-time code is incorrect", resetsFailures: false },
    );
    const now = stepUp.clock.now();
    const detail = `Authenticator turned on; ${RECOVERY_CODE_COUNT} new recovery codes`;
    const recoveryCodes = await commit(async (tx) => {
      // Only the secret whose code was checked is turned on, not one a parallel start put in its place.
      const moved = await tx.nativeUpdate(
        User,
        { id: viewer.userId, pendingTotpSecretEncrypted: pending },
        { totpSecretEncrypted: pending, pendingTotpSecretEncrypted: null },
      );
      if (moved === 0) {
        throw badInput("The authenticator being turned on was replaced meanwhile: enter a code of the newest one", "otp");
      }
      return replaceRecoveryCodes(tx, stepUp.hasher, viewer.userId, now);
    }, detail);
    return { result: { recoveryCodes }, detail };
  });
}

export interface ChangePasswordInput {
  /** The current factors: password and a current code or a recovery code. */
  confirmation: Confirmation;
  /** 12 to 1024 characters. */
  newPassword: string;
}

/** Changes the caller's own password, confirmed with their current factors. Audited as CHANGE_PASSWORD. */
export function changePassword(context: ConfirmedContext, input: ChangePasswordInput): Promise<ConfirmationFactors> {
  const { em, viewer } = context;
  return confirmedOperation(
    context,
    AuditAction.CHANGE_PASSWORD,
    input.confirmation,
    (subject) => {
      subject.targetUserId = viewer.userId;
      requirePerson(viewer);
      return requireNewPassword(input.newPassword, "newPassword");
    },
    async (newPassword, commit) => {
      const passwordHash = await hashPassword(newPassword);
      await commit((tx) => tx.nativeUpdate(User, { id: viewer.userId }, { passwordHash }), "Password changed");
      return { result: await confirmationFactors(em, viewer.userId), detail: "Password changed" };
    },
  );
}

/**
 * A user of the Owner's account whose factors the Owner may reset, noted in the audit subject once found: not the
 * Owner (whose own factors change with the current ones), not the API user (which has none). Owner only.
 */
async function resettableUser(em: EntityManager, viewer: Viewer, userId: string, subject: AuditSubject): Promise<User> {
  if (!viewer.isOwner) throw forbidden("Only the account Owner can reset a user's password or authenticator");
  const user = await em.findOne(User, { id: requireUserId(userId), account: viewer.accountId });
  if (!user) throw notFound(`User ${userId} was not found in this account`);
  subject.targetUserId = user.id;
  if (user.isOwner) {
    throw badInput("The Owner's own password and authenticator change with changePassword and startAuthenticatorEnrolment", "userId");
  }
  if (user.kind !== UserKind.HUMAN) throw badInput("The API user has no password or authenticator", "userId");
  return user;
}

export interface ResetUserInput {
  /** A user of the Owner's account. */
  userId: string;
  /** The Owner's own factors. */
  confirmation: Confirmation;
}

/**
 * Clears a user's password and issues a new invitation to set one (shown this once; earlier unused invitations
 * stop working), so a user who lost it gets back in. Owner only, confirmed with the Owner's factors; a user of
 * another account is NOT_FOUND. Audited as RESET_PASSWORD with the user.
 */
export function resetUserPassword(
  context: ConfirmedContext & { invitations: InvitationDependencies },
  input: ResetUserInput,
): Promise<{ user: User; invitation: IssuedInvitation }> {
  const { em, viewer } = context;
  return confirmedOperation(
    context,
    AuditAction.RESET_PASSWORD,
    input.confirmation,
    (subject) => resettableUser(em, viewer, input.userId, subject),
    async (user, commit) => {
      const detail = "Password cleared; new invitation issued";
      const invitation = await commit(async (tx) => {
        await tx.nativeUpdate(User, { id: user.id }, { passwordHash: null });
        return issueInvitation(tx, context.invitations, user.id);
      }, detail);
      return { result: { user, invitation }, detail };
    },
  );
}

/**
 * Clears a user's authenticator (the active one and one being turned on) and their recovery codes, so that a
 * user who lost the device turns one on again. Owner only, confirmed with the Owner's factors; a user of another
 * account is NOT_FOUND. Audited as RESET_AUTHENTICATOR with the user.
 */
export function resetUserAuthenticator(context: ConfirmedContext, input: ResetUserInput): Promise<{ user: User }> {
  const { em, viewer } = context;
  return confirmedOperation(
    context,
    AuditAction.RESET_AUTHENTICATOR,
    input.confirmation,
    (subject) => resettableUser(em, viewer, input.userId, subject),
    async (user, commit) => {
      const detail = "Authenticator and recovery codes cleared";
      await commit(async (tx) => {
        await tx.nativeUpdate(User, { id: user.id }, { totpSecretEncrypted: null, pendingTotpSecretEncrypted: null });
        await deleteRecoveryCodes(tx, user.id);
      }, detail);
      return { result: { user }, detail };
    },
  );
}
