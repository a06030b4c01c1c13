import type { EntityManager } from "@mikro-orm/core";
import { MAX_PASSWORD_LENGTH, verifyPassword } from "../access/password.js";
import { User } from "../access/user.entity.js";
import type { Clock } from "../clock.js";
import type { SecretHasher } from "../credentials/keys.js";
import type { SecretBox } from "../credentials/secret-box.js";
import { DomainError, enrolmentRequired } from "../domain-error.js";
import { consumeRecoveryCode, findRecoveryCode, normaliseRecoveryCode } from "../enrolment/recovery-codes.js";
import { ConfirmationState } from "./confirmation-state.entity.js";
import { openTotpSecret, totpStepOf } from "./totp.js";

/**
 * The password and the current one-time code, as the confirmation popup asks for them. `otp` may instead be one
 * of the user's unused recovery codes, which the confirmation then spends.
 */
export interface Confirmation {
  password: string;
  otp: string;
}

/** How failures are throttled. */
export interface StepUpPolicy {
  /** Failures allowed before each further try waits. @default 5 */
  freeFailures: number;
  /** Failures that lock confirmation. @default 10 */
  lockAfter: number;
  /** Wait after the 5th failure; it doubles with each further failure. @default 1000 */
  backoffBaseMs: number;
  /** How long confirmation stays locked. @default 30 minutes */
  lockMs: number;
  /** How long one evaluation may hold the per-user slot if the process dies mid-way. @default 10000 */
  inFlightMs: number;
}

export const DEFAULT_STEP_UP_POLICY: StepUpPolicy = {
  freeFailures: 5,
  lockAfter: 10,
  backoffBaseMs: 1000,
  lockMs: 30 * 60 * 1000,
  inFlightMs: 10_000,
};

export interface StepUpDependencies {
  /** Opens the sealed TOTP secrets. */
  box: SecretBox;
  /** Keyed hashes of the recovery codes. */
  hasher: SecretHasher;
  clock: Clock;
  policy: StepUpPolicy;
}

/** The step-up policy with the configured back-off and lock (`CONFIRMATION_BACKOFF_MS`, `CONFIRMATION_LOCK_SECONDS`). */
export function stepUpPolicy(confirmation: { backoffMs: number; lockSeconds: number }): StepUpPolicy {
  return { ...DEFAULT_STEP_UP_POLICY, backoffBaseMs: confirmation.backoffMs, lockMs: confirmation.lockSeconds * 1000 };
}

/**
 * Why a confirmation did not pass: a wrong password or code (LOCKING when that failure locked confirmations),
 * or a try refused without being checked, during a back-off (RATE_LIMITED) or a lock (LOCKED).
 */
export type StepUpFailure = "CONFIRMATION_FAILED" | "LOCKING" | "RATE_LIMITED" | "LOCKED";

export class StepUpError extends DomainError {
  constructor(
    readonly failure: StepUpFailure,
    message: string,
    retryAfterSeconds?: number,
  ) {
    super(
      failure === "CONFIRMATION_FAILED" || failure === "LOCKING" ? "CONFIRMATION_FAILED" : "RATE_LIMITED",
      message,
      retryAfterSeconds === undefined ? {} : { retryAfterSeconds },
    );
  }
}

function secondsUntil(at: number, now: number): number {
  return Math.max(1, Math.ceil((at - now) / 1000));
}

/**
 * Refuses a confirmation of a user who has not set a password or not turned on the authenticator yet, with
 * ENROLMENT_REQUIRED naming what is missing: no guess is checked, so no failure is counted.
 */
async function requireEnrolled(em: EntityManager, userId: string): Promise<void> {
  const user = await em.fork().findOne(User, { id: userId }, { populate: ["passwordHash", "totpSecretEncrypted"] });
  if (!user?.passwordHash) {
    throw enrolmentRequired("Set a password (accept your invitation) before confirming operations", "password");
  }
  if (!user.totpSecretEncrypted) {
    throw enrolmentRequired("Turn on the authenticator before confirming operations", "authenticator");
  }
}

/** A check that passed: the TOTP step it used, or null when it used no TOTP code (a recovery code). */
export interface PassedCheck {
  step: number | null;
}

/** How a throttled check reports and records its outcome. */
export interface ThrottledCheckOptions {
  /** The message of a failed check (and the start of the message of the failure that locks). */
  failureMessage: string;
  /**
   * True when a pass proves the user's factors, so it ends the round of failures (a confirmation); false when it
   * proves only a code of an authenticator being turned on, which says nothing of the password.
   */
  resetsFailures: boolean;
}

/**
 * Runs one check of a user's secrets under the user's confirmation slot: one evaluation per user at a time,
 * claimed with an atomic conditional update, so parallel requests, aliases and instances share one counter and
 * can never evaluate more guesses than the policy allows. After `freeFailures` each further try waits longer;
 * after `lockAfter` checks are locked for `lockMs`. A pass records the TOTP step it used, so no code of that step
 * or an earlier one passes a confirmation again. Throws {@link StepUpError}; returns normally only when `check`
 * passed.
 */
export async function throttledCheck(
  em: EntityManager,
  deps: StepUpDependencies,
  userId: string,
  check: (state: ConfirmationState, now: number) => Promise<PassedCheck | null>,
  options: ThrottledCheckOptions,
): Promise<void> {
  const { clock, policy } = deps;
  await em
    .getConnection()
    .execute("insert into confirmation_state (user_id, failures) values (?, 0) on conflict (user_id) do nothing", [userId]);

  const claimedAt = clock.now();
  const claimed = await em.nativeUpdate(
    ConfirmationState,
    {
      user: userId,
      $and: [
        { $or: [{ inFlightUntil: null }, { inFlightUntil: { $lte: claimedAt } }] },
        { $or: [{ blockedUntil: null }, { blockedUntil: { $lte: claimedAt } }] },
      ],
    },
    { inFlightUntil: claimedAt + policy.inFlightMs },
  );
  const state = await em.fork().findOneOrFail(ConfirmationState, { user: userId });
  if (claimed === 0) {
    if (state.blockedUntil !== null && state.blockedUntil > claimedAt) {
      const wait = secondsUntil(state.blockedUntil, claimedAt);
      if (state.failures >= policy.lockAfter) {
        throw new StepUpError("LOCKED", `Confirmation is locked after too many failures; try again in ${wait} s`, wait);
      }
      throw new StepUpError("RATE_LIMITED", `Too many failed confirmations; wait ${wait} s before the next try`, wait);
    }
    throw new StepUpError("RATE_LIMITED", "Another confirmation of this user is in progress; retry in a moment", 1);
  }

  let passed: PassedCheck | null = null;
  try {
    passed = await check(state, claimedAt);
  } finally {
    await record(em, deps, state, passed, claimedAt, options);
  }
  if (passed === null) throw new StepUpError("CONFIRMATION_FAILED", options.failureMessage);
}

/**
 * Checks a user's password and one-time code (or one of their recovery codes) before a sensitive operation,
 * throttled as {@link throttledCheck} says. A user without a password or an active authenticator is refused with
 * ENROLMENT_REQUIRED before anything is checked. Throws {@link StepUpError} for a wrong confirmation; returns
 * normally only when both factors are right.
 */
export async function confirmStepUp(
  em: EntityManager,
  deps: StepUpDependencies,
  userId: string,
  confirmation: Confirmation,
): Promise<void> {
  await requireEnrolled(em, userId);
  await throttledCheck(em, deps, userId, (state, now) => evaluate(em, deps, userId, confirmation, state, now), {
    failureMessage: "The password or the one-time code is incorrect",
    resetsFailures: true,
  });
}

/**
 * The outcome of a confirmation: passed with the TOTP step used (or with no step, for a recovery code), or null.
 * Both factors are always checked, so timing tells nothing; a recovery code is spent only when the password is
 * right too, with a conditional update, so parallel confirmations cannot spend it twice.
 */
async function evaluate(
  em: EntityManager,
  deps: StepUpDependencies,
  userId: string,
  confirmation: Confirmation,
  state: ConfirmationState,
  now: number,
): Promise<PassedCheck | null> {
  const user = await em.fork().findOne(User, { id: userId }, { populate: ["passwordHash", "totpSecretEncrypted"] });
  if (!user?.passwordHash || !user.totpSecretEncrypted) return null;
  const password = typeof confirmation.password === "string" ? confirmation.password : "";
  const passwordOk =
    password.length > 0 && password.length <= MAX_PASSWORD_LENGTH && (await verifyPassword(user.passwordHash, password));
  const otp = typeof confirmation.otp === "string" ? confirmation.otp : "";

  const recovery = normaliseRecoveryCode(otp);
  if (recovery !== null) {
    const code = await findRecoveryCode(em.fork(), deps.hasher, userId, recovery);
    if (!passwordOk || code === null) return null;
    return (await consumeRecoveryCode(em, code.id, now)) ? { step: null } : null;
  }

  const secret = openTotpSecret(deps.box, user.id, user.totpSecretEncrypted);
  const step = totpStepOf(secret, otp, now);
  const fresh = step !== null && (state.lastTotpStep === null || step > state.lastTotpStep);
  return passwordOk && fresh ? { step } : null;
}

async function record(
  em: EntityManager,
  deps: StepUpDependencies,
  before: ConfirmationState,
  passed: PassedCheck | null,
  now: number,
  options: ThrottledCheckOptions,
): Promise<void> {
  const { policy } = deps;
  if (passed !== null) {
    const lastTotpStep =
      passed.step === null ? before.lastTotpStep : Math.max(passed.step, before.lastTotpStep ?? Number.NEGATIVE_INFINITY);
    await em.nativeUpdate(
      ConfirmationState,
      { user: before.user },
      options.resetsFailures
        ? { failures: 0, blockedUntil: null, inFlightUntil: null, lastTotpStep }
        : { inFlightUntil: null, lastTotpStep },
    );
    return;
  }
  // A lock that has run out starts a new round of attempts.
  const previous = before.failures >= policy.lockAfter ? 0 : before.failures;
  const failures = previous + 1;
  let blockedUntil: number | null = null;
  if (failures >= policy.lockAfter) blockedUntil = now + policy.lockMs;
  else if (failures >= policy.freeFailures) blockedUntil = now + policy.backoffBaseMs * 2 ** (failures - policy.freeFailures);
  await em.nativeUpdate(ConfirmationState, { user: before.user }, { failures, blockedUntil, inFlightUntil: null });
  if (failures >= policy.lockAfter) {
    const wait = secondsUntil(blockedUntil!, now);
    throw new StepUpError(
      "LOCKING",
      `${options.failureMessage}; after ${failures} failures confirmations are locked for ${wait} s`,
      wait,
    );
  }
}
