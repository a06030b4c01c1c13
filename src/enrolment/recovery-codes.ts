import type { EntityManager } from "@mikro-orm/core";
import { randomBytes } from "node:crypto";
import type { SecretHasher } from "../credentials/keys.js";
import { RecoveryCode } from "./recovery-code.entity.js";

/** How many recovery codes turning on the authenticator issues. */
export const RECOVERY_CODE_COUNT = 10;

/** Base32 (RFC 4648) in lower case: no 0, 1, 8 or 9, so nothing reads as another character. */
const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
const CODE_LENGTH = 10;
/** Longest input looked at as a possible recovery code; anything longer is not one. */
const MAX_INPUT_LENGTH = 32;

/**
 * A new recovery code as shown to the user: 10 base32 characters (50 bits from the CSPRNG) in two groups,
 * `xxxxx-xxxxx`. Guessing is bounded by the confirmation throttling, which allows 10 failures before a lock.
 */
export function generateRecoveryCode(): string {
  const bytes = randomBytes(CODE_LENGTH);
  // 256 is a multiple of 32: the low five bits of a random byte are uniform.
  const characters = [...bytes].map((byte) => ALPHABET[byte & 31]).join("");
  return `${characters.slice(0, 5)}-${characters.slice(5)}`;
}

/**
 * The canonical form of what a user typed as a recovery code (case, spaces and hyphens ignored), or null when it
 * cannot be one: a 6-digit one-time code is never mistaken for it, as it has too few characters.
 */
export function normaliseRecoveryCode(typed: string): string | null {
  if (typed.length > MAX_INPUT_LENGTH) return null;
  const value = typed.replace(/[\s-]/g, "").toLowerCase();
  return new RegExp(`^[a-z2-7]{${CODE_LENGTH}}$`).test(value) ? value : null;
}

/** The user's unused recovery code matching a normalised one (see {@link normaliseRecoveryCode}), or null. */
export function findRecoveryCode(
  em: EntityManager,
  hasher: SecretHasher,
  userId: string,
  normalised: string,
): Promise<RecoveryCode | null> {
  return em.findOne(RecoveryCode, { user: userId, codeHash: { $in: hasher.candidates(normalised) }, usedAt: null });
}

/** Spends a recovery code with a conditional update; false when it was spent already (by a parallel request). */
export async function consumeRecoveryCode(em: EntityManager, id: string, now: number): Promise<boolean> {
  return (await em.nativeUpdate(RecoveryCode, { id, usedAt: null }, { usedAt: new Date(now) })) === 1;
}

/**
 * Replaces a user's recovery codes with {@link RECOVERY_CODE_COUNT} new ones and returns them, the only time they
 * are seen: only their keyed hashes are stored. Flushed with `em`, so that inside a transaction it is part of it.
 */
export async function replaceRecoveryCodes(em: EntityManager, hasher: SecretHasher, userId: string, now: number): Promise<string[]> {
  await em.nativeDelete(RecoveryCode, { user: userId });
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, generateRecoveryCode);
  for (const code of codes) {
    em.create(RecoveryCode, { user: userId, codeHash: hasher.hash(normaliseRecoveryCode(code)!), createdAt: new Date(now) });
  }
  await em.flush();
  return codes;
}

/** Deletes a user's recovery codes (their authenticator was reset). */
export async function deleteRecoveryCodes(em: EntityManager, userId: string): Promise<void> {
  await em.nativeDelete(RecoveryCode, { user: userId });
}

/** How many unused recovery codes a user has left. */
export function unusedRecoveryCodes(em: EntityManager, userId: string): Promise<number> {
  return em.count(RecoveryCode, { user: userId, usedAt: null });
}
