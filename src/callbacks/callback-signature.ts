import type { SignedFields } from "../events/event.js";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** The fields the platform signs, each exactly as it appears in the callback. */
export type { SignedFields };

/**
 * How the HMAC key comes from the callback secret. The official v3 text could not be retrieved: the best-supported
 * reading is the secret itself as UTF-8 bytes ("raw"); "sha256" (the raw SHA-256 digest of the secret) is the
 * other plausible one. One real sandbox callback settles it; `CALLBACK_KEY_DERIVATION` switches without a release.
 */
export type CallbackKeyDerivation = "raw" | "sha256";

function callbackKey(secret: string, derivation: CallbackKeyDerivation): Buffer {
  const bytes = Buffer.from(secret, "utf8");
  return derivation === "sha256" ? createHash("sha256").update(bytes).digest() : bytes;
}

/**
 * The one place that defines a callback signature: lowercase hex HMAC-SHA256 over
 * `status + amount + tracking_id + time`, concatenated with no separator.
 */
export function callbackSignature(secret: string, fields: SignedFields, derivation: CallbackKeyDerivation = "raw"): string {
  const message = fields.status + fields.amount + fields.trackingId + fields.time;
  return createHmac("sha256", callbackKey(secret, derivation)).update(message, "utf8").digest("hex");
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * True when `sign` is the signature of `fields` under one of `secrets`. Anything that is not 64 lowercase hex
 * characters is refused before comparing; the comparison itself is constant-time.
 */
export function verifyCallbackSignature(
  secrets: readonly string[],
  fields: SignedFields,
  sign: unknown,
  derivation: CallbackKeyDerivation = "raw",
): boolean {
  if (typeof sign !== "string" || !HEX_SHA256.test(sign)) return false;
  const given = Buffer.from(sign, "hex");
  let valid = false;
  for (const secret of secrets) {
    const expected = Buffer.from(callbackSignature(secret, fields, derivation), "hex");
    // Every secret is checked, so the time taken does not tell which one matched.
    if (timingSafeEqual(expected, given)) valid = true;
  }
  return valid;
}
