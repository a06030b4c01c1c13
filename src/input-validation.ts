import { badInput } from "./domain-error.js";

/** The platform's wallet ids are short strings of letters, digits, `-` and `_`. */
const WALLET_ID = /^[A-Za-z0-9_-]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Deliberately simple: one @, no spaces, a dot in the domain; the identity provider owns real verification. */
const EMAIL = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]+$/;

export function isWalletId(value: string): boolean {
  return WALLET_ID.test(value);
}

export function isUserId(value: string): boolean {
  return UUID.test(value);
}

export function requireWalletId(value: string, field = "walletId"): string {
  if (!isWalletId(value)) {
    throw badInput(`${field} must be 1 to 64 letters, digits, "-" or "_"`, field);
  }
  return value;
}

export function requireUserId(value: string, field = "userId"): string {
  if (!isUserId(value)) throw badInput(`${field} must be a user id (a UUID)`, field);
  return value.toLowerCase();
}

/** Lower-cases and checks an e-mail address (at most 254 characters). */
export function requireEmail(value: string, field = "email"): string {
  const email = value.trim().toLowerCase();
  if (email.length > 254 || !EMAIL.test(email)) throw badInput(`${field} must be an e-mail address`, field);
  return email;
}
