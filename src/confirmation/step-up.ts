import type { EntityManager } from "@mikro-orm/core";
import { verifyPassword } from "../access/password.js";
import { User } from "../access/user.entity.js";
import type { Clock } from "../clock.js";
import type { SecretBox } from "../credentials/secret-box.js";
import { DomainError } from "../domain-error.js";
import { ConfirmationState } from "./confirmation-state.entity.js";
import { openTotpSecret, totpStepOf } from "./totp.js";

/** The password and the current one-time code, as the confirmation popup asks for them. */
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

/** Longest password accepted for checking; longer inputs fail without hashing (argon2 cost is per byte). */
const MAX_PASSWORD_LENGTH = 1024;

export interface StepUpDependencies {
  box: SecretBox;
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
 * Checks a user's password and one-time code before a sensitive operation. One evaluation per user at a time,
 * claimed with an atomic conditional update, so parallel requests, aliases and instances share one counter and
 * can never evaluate more guesses than the policy allows. After `freeFailures` each further try waits longer;
 * after `lockAfter` confirmations are locked for `lockMs`. A code of a time step already used is refused.
 * Throws {@link StepUpError}; returns normally only when both factors are right.
 */
export async function confirmStepUp(
  em: EntityManager,
  deps: StepUpDependencies,
  userId: string,
  confirmation: Confirmation,
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

  let step: number | null = null;
  try {
    step = await evaluate(em, deps, userId, confirmation, claimedAt);
  } finally {
    await record(em, deps, state, step, claimedAt);
  }
  if (step === null) throw new StepUpError("CONFIRMATION_FAILED", "The password or the one-time code is incorrect");
}

/** The TOTP step of a correct confirmation, or null. Both factors are always checked, so timing tells nothing. */
async function evaluate(
  em: EntityManager,
  deps: StepUpDependencies,
  userId: string,
  confirmation: Confirmation,
  now: number,
): Promise<number | null> {
  const user = await em.fork().findOne(User, { id: userId }, { populate: ["passwordHash", "totpSecretEncrypted"] });
  if (!user?.passwordHash || !user.totpSecretEncrypted) return null;
  const password = typeof confirmation.password === "string" ? confirmation.password : "";
  const passwordOk =
    password.length > 0 && password.length <= MAX_PASSWORD_LENGTH && (await verifyPassword(user.passwordHash, password));
  const secret = openTotpSecret(deps.box, user.id, user.totpSecretEncrypted);
  const step = totpStepOf(secret, String(confirmation.otp ?? ""), now);
  const state = await em.fork().findOneOrFail(ConfirmationState, { user: userId });
  const fresh = step !== null && (state.lastTotpStep === null || step > state.lastTotpStep);
  return passwordOk && fresh ? step : null;
}

async function record(
  em: EntityManager,
  deps: StepUpDependencies,
  before: ConfirmationState,
  step: number | null,
  now: number,
): Promise<void> {
  const { policy } = deps;
  if (step !== null) {
    await em.nativeUpdate(
      ConfirmationState,
      { user: before.user },
      { failures: 0, blockedUntil: null, inFlightUntil: null, lastTotpStep: step },
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
      `The password or the one-time code is incorrect; after ${failures} failures confirmations are locked for ${wait} s`,
      wait,
    );
  }
}
