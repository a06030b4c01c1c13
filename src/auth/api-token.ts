import { SignJWT, decodeProtectedHeader, jwtVerify } from "jose";
import type { Clock } from "../clock.js";
import { hmacVerifyKey } from "./hmac-key.js";
import { unauthenticated } from "../domain-error.js";

/** `kid` of the access tokens `/token` issues; it tells them apart from the identity provider's tokens. */
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

/** Issues and verifies the short-lived access tokens of the API user (HS256 under a key derived here). */
export class ApiTokenService {
  private readonly verifyKey: ReturnType<typeof hmacVerifyKey>;

  constructor(
    private readonly key: Uint8Array,
    private readonly audience: string,
    /** Lifetime of an access token in seconds. */
    readonly lifetimeSeconds: number,
    private readonly clock: Clock,
  ) {
    this.verifyKey = hmacVerifyKey(key);
  }

  async issue(apiUserId: string, apiKey: string): Promise<string> {
    const now = Math.floor(this.clock.now() / 1000);
    return new SignJWT({ key: apiKey })
      .setProtectedHeader({ alg: "HS256", kid: API_TOKEN_KID, typ: "JWT" })
      .setSubject(apiUserId)
      .setIssuer(ISSUER)
      .setAudience(this.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + this.lifetimeSeconds)
      .sign(this.key);
  }

  /** True when the token claims to be one of ours; it still has to pass {@link verify}. */
  static isApiToken(token: string): boolean {
    try {
      return decodeProtectedHeader(token).kid === API_TOKEN_KID;
    } catch {
      return false;
    }
  }

  async verify(token: string): Promise<ApiTokenClaims> {
    try {
      const { payload } = await jwtVerify(token, await this.verifyKey(), {
        issuer: ISSUER,
        audience: this.audience,
        algorithms: ["HS256"],
        currentDate: new Date(this.clock.now()),
      });
      if (typeof payload.sub !== "string" || typeof payload.key !== "string" || typeof payload.exp !== "number") {
        throw new Error("claims");
      }
      return { sub: payload.sub, key: payload.key, exp: payload.exp };
    } catch {
      throw unauthenticated("Invalid or expired API access token");
    }
  }
}
