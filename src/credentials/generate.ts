import { randomBytes } from "node:crypto";

/**
 * Credential formats. Prefixes make leaked values recognisable to secret scanners; secrets carry 256 bits from
 * the CSPRNG.
 */
export const API_KEY_PREFIX = "acs_key_";
export const API_SECRET_PREFIX = "acs_secret_";
export const CALLBACK_SECRET_PREFIX = "acs_whsec_";
export const INVITATION_PREFIX = "acs_inv_";

export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBytes(16).toString("hex");
}

export function generateApiSecret(): string {
  return API_SECRET_PREFIX + randomBytes(32).toString("base64url");
}

export function generateCallbackSecret(): string {
  return CALLBACK_SECRET_PREFIX + randomBytes(32).toString("base64url");
}

export function generateInvitationToken(): string {
  return INVITATION_PREFIX + randomBytes(32).toString("base64url");
}
