import argon2 from "argon2";
import { badInput } from "../domain-error.js";

/**
 * argon2id at OWASP's figures or above (m = 19 MiB, t = 2, p = 1). The parameters live in the PHC string, so
 * raising them later re-hashes nothing: old hashes still verify.
 */
const PARAMETERS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, PARAMETERS);
}

/** False for a wrong password and for a hash that cannot be read; never throws on bad input. */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

/** Shortest password a user may set. */
export const MIN_PASSWORD_LENGTH = 12;
/** Longest password a user may set (or that is checked at all: argon2's cost grows with the input). */
export const MAX_PASSWORD_LENGTH = 1024;

/** A password a user may set: 12 to 1024 characters; BAD_USER_INPUT otherwise. */
export function requireNewPassword(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length < MIN_PASSWORD_LENGTH || value.length > MAX_PASSWORD_LENGTH) {
    throw badInput(`${field} must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`, field);
  }
  return value;
}
