import { SignJWT, decodeProtectedHeader } from "jose";
import type { Clock } from "../clock.js";
import type { MasterKeyring } from "../credentials/keys.js";
import { hmacVerifyKey, verifyUnderKeyring, type KeyringEntry } from "./hmac-key.js";
import { unauthenticated } from "../domain-error.js";

/**
 * `kid` prefix of the access tokens `/token` issues: `acs-api-token.<master key id>`. It tells them apart from
 * the identity provider's tokens and names the key that signed them. A token whose `kid` is the bare prefix
 * was signed before tokens named their key; it is checked under every key of the keyring.
 */
export const API_TOKEN_KID = "acs-api-token";
const ISSUER = "access-subgraph/token";

export interface ApiTokenClaims {
  /** The API user's id. */
  sub: string;
  /** The API key the token was issued for; the token dies when that key is regenerated. */
  key: string;
  /** Expiry, epoch seconds. */
  exp: number;
}

/**
 * Issues and verifies the short-lived access tokens of the API user: HS256 under a key derived from the current
 * master key, verified under the key their `kid` names.
 */
export class ApiTokenService {
  private readonly verifyKeys: KeyringEntry[];

  constructor(
    private readonly keyring: MasterKeyring,
    private readonly audience: string,
    /** Lifetime of an access token in seconds. */
    readonly lifetimeSeconds: number,
    private readonly clock: Clock,
  ) {
    this.verifyKeys = keyring.keys.map((key) => ({ kid: `${API_TOKEN_KID}.${key.id}`, verifyKey: hmacVerifyKey(key.apiTokenKey) }));
  }

  async issue(apiUserId: string, apiKey: string): Promise<string> {
    const now = Math.floor(this.clock.now() / 1000);
    return new SignJWT({ key: apiKey })
      .setProtectedHeader({ alg: "HS256", kid: `${API_TOKEN_KID}.${this.keyring.current.id}`, typ: "JWT" })
      .setSubject(apiUserId)
      .setIssuer(ISSUER)
      .setAudience(this.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + this.lifetimeSeconds)
      .sign(this.keyring.current.apiTokenKey);
  }

  /** True when the token claims to be one of ours; it still has to pass {@link verify}. */
  static isApiToken(token: string): boolean {
    try {
      const kid = decodeProtectedHeader(token).kid;
      return kid === API_TOKEN_KID || (typeof kid === "string" && kid.startsWith(`${API_TOKEN_KID}.`));
    } catch {
      return false;
    }
  }

  async verify(token: string): Promise<ApiTokenClaims> {
    try {
      const options = { issuer: ISSUER, audience: this.audience, algorithms: ["HS256"], currentDate: new Date(this.clock.now()) };
      const { payload } = await verifyUnderKeyring(token, this.verifyKeys, options, (kid) => kid === API_TOKEN_KID);
      if (typeof payload.sub !== "string" || typeof payload.key !== "string" || typeof payload.exp !== "number") {
        throw new Error("claims");
      }
      return { sub: payload.sub, key: payload.key, exp: payload.exp };
    } catch {
      throw unauthenticated("Invalid or expired API access token");
    }
  }
}
