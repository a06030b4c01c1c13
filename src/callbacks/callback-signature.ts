import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { CallbackEventKind } from "../events/event.js";

/**
 * How the HMAC key comes from the callback secret. The official v3 text could not be retrieved: the best-supported
 * reading is the secret itself as UTF-8 bytes ("raw"); "sha256" (the raw SHA-256 digest of the secret) is the
 * other plausible one. One real sandbox callback settles it; `CALLBACK_KEY_DERIVATION` switches without a release.
 */
export type CallbackKeyDerivation = "raw" | "sha256";

/** What the platform signs, each part exactly as it appears in the callback (numbers as their decimal text). */
export interface SignedParts {
  kind: CallbackEventKind;
  /** The signed transfer's `status` and `amount`; null when the callback carries no transfer. */
  transfer: { status: string; amount: string } | null;
  /** `data.attributes.status`, which a deposit without a transfer signs in the transfer's place. */
  operationStatus: string | null;
  /** `data.attributes.tracking_id` ("" when empty). */
  trackingId: string;
  /** `meta.time`. */
  time: string;
}

/**
 * The one place that says what a callback signature covers: the parts concatenated with no separator,
 * - with a transfer: `transfer.status + transfer.amount + tracking_id + meta.time`;
 * - a deposit without one: `data.attributes.status + tracking_id + meta.time`;
 * - a payout without one: `tracking_id + meta.time`.
 */
export function signedMessage(parts: SignedParts): string {
  if (parts.transfer) return parts.transfer.status + parts.transfer.amount + parts.trackingId + parts.time;
  if (parts.kind === CallbackEventKind.DEPOSIT) return (parts.operationStatus ?? "") + parts.trackingId + parts.time;
  return parts.trackingId + parts.time;
}

function callbackKey(secret: string, derivation: CallbackKeyDerivation): Buffer {
  const bytes = Buffer.from(secret, "utf8");
  return derivation === "sha256" ? createHash("sha256").update(bytes).digest() : bytes;
}

/** The signature of a signed message: lowercase hex HMAC-SHA256 under the secret. */
export function callbackSignature(secret: string, message: string, derivation: CallbackKeyDerivation = "raw"): string {
  return createHmac("sha256", callbackKey(secret, derivation)).update(message, "utf8").digest("hex");
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * True when `sign` is the signature of `message` under one of `secrets`. Anything that is not 64 lowercase hex
 * characters is refused before comparing; the comparison itself is constant-time.
 */
export function verifyCallbackSignature(
  secrets: readonly string[],
  message: string,
  sign: unknown,
  derivation: CallbackKeyDerivation = "raw",
): boolean {
  if (typeof sign !== "string" || !HEX_SHA256.test(sign)) return false;
  const given = Buffer.from(sign, "hex");
  let valid = false;
  for (const secret of secrets) {
    const expected = Buffer.from(callbackSignature(secret, message, derivation), "hex");
    // Every secret is checked, so the time taken does not tell which one matched.
    if (timingSafeEqual(expected, given)) valid = true;
  }
  return valid;
}
