import * as OTPAuth from "otpauth";
import type { SecretBox } from "../credentials/secret-box.js";

/** RFC 6238 as the authenticator apps expect it: SHA-1, 6 digits, 30-second steps. */
export const TOTP_PARAMETERS = { algorithm: "SHA1", digits: 6, period: 30 } as const;
const ISSUER = "access-subgraph";

/** A new random TOTP secret (160 bits), base32 encoded. */
export function generateTotpSecret(): string {
  return new OTPAuth.Secret({ size: 20 }).base32;
}

/** Checks a base32 TOTP secret given by an operator; returns it upper-cased without padding. */
export function normaliseTotpSecret(base32: string): string {
  const value = base32.replace(/\s+/g, "").replace(/=+$/, "").toUpperCase();
  if (!/^[A-Z2-7]{16,128}$/.test(value)) {
    throw new Error("A TOTP secret must be base32 (A-Z, 2-7), at least 16 characters");
  }
  return value;
}

/** The otpauth:// URL an authenticator app imports (as a QR code or pasted). */
export function totpUrl(email: string, base32: string): string {
  return new OTPAuth.TOTP({ issuer: ISSUER, label: email, secret: OTPAuth.Secret.fromBase32(base32), ...TOTP_PARAMETERS }).toString();
}

/** Associated data binding a user's sealed TOTP secret to that user. */
export function totpAssociatedData(userId: string): string {
  return `user:${userId}:totp`;
}

export function sealTotpSecret(box: SecretBox, userId: string, base32: string): string {
  return box.encrypt(base32, totpAssociatedData(userId));
}

export function openTotpSecret(box: SecretBox, userId: string, sealed: string): string {
  return box.decrypt(sealed, totpAssociatedData(userId));
}

/**
 * The time step a code belongs to, accepting the current step and the one before it (RFC 6238 with a
 * one-step allowance for clock drift and typing time), or null when the code matches neither.
 */
export function totpStepOf(base32: string, code: string, nowMs: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(base32), ...TOTP_PARAMETERS });
  const delta = totp.validate({ token: code, timestamp: nowMs, window: 1 });
  if (delta === null || delta > 0) return null;
  return Math.floor(nowMs / 1000 / TOTP_PARAMETERS.period) + delta;
}

/** The code an authenticator shows at a given time (used by the CLI and tests). */
export function totpCodeAt(base32: string, nowMs: number): string {
  return new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(base32), ...TOTP_PARAMETERS }).generate({ timestamp: nowMs });
}
