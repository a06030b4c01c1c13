import { createHash } from "node:crypto";
import { SignJWT, createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { Clock } from "../clock.js";
import type { Config } from "../config.js";
import { loadOrCreateKeyFile } from "../credentials/key-file.js";
import { unauthenticated } from "../domain-error.js";
import { hmacVerifyKey, verifyUnderKeyring, type KeyringEntry } from "./hmac-key.js";

/** File under the data directory holding the development signing key. */
export const DEV_SIGNING_KEY_FILE = "jwt-dev.key";
/** Longest bearer token accepted; anything longer is refused before any parsing. */
const MAX_TOKEN_LENGTH = 8192;

/** Verifies bearer tokens and, where the key is local, issues them. */
export interface TokenService {
  /** Where keys come from: a JWKS URL, a configured shared key, or the generated development key. */
  readonly source: "jwks" | "shared-key" | "development-key";
  /**
   * Resolves the verified claims; throws UNAUTHENTICATED for anything else, a token without `exp` or one whose
   * lifetime (`exp - (iat or now)`) exceeds `JWT_MAX_LIFETIME_SECONDS` included.
   */
  verify(token: string): Promise<JWTPayload & { sub: string; exp: number }>;
  /** Signs a token for a user id; only with a local key (shared or development). */
  sign(userId: string, lifetimeSeconds: number, claims?: JWTPayload): Promise<string>;
}

/** The `kid` of a shared HS256 key: 16 hex digits of a SHA-256 over it, which say nothing of the key. */
export function sharedKeyId(key: Uint8Array): string {
  return createHash("sha256").update("access-subgraph/jwt-kid:").update(key).digest("hex").slice(0, 16);
}

/** A local HS256 key: its `kid`, its bytes (to sign) and its verification key. */
interface LocalKey extends KeyringEntry {
  key: Uint8Array;
}

function localKey(key: Uint8Array): LocalKey {
  return { kid: sharedKeyId(key), key, verifyKey: hmacVerifyKey(key) };
}

/**
 * Tokens signed and checked at the clock's time (the service's injected clock). A local key signs with its
 * `kid`; retired shared keys (`JWT_SECRETS_RETIRED`) only verify.
 */
export function createTokenService(config: Pick<Config, "jwt" | "dataDir">, clock: Clock): TokenService {
  const { issuer, audience, maxLifetimeSeconds } = config.jwt;
  let source: TokenService["source"];
  let remoteKeys: JWTVerifyGetKey | null = null;
  let localKeys: LocalKey[] = [];
  if (config.jwt.jwksUrl) {
    source = "jwks";
    remoteKeys = createRemoteJWKSet(new URL(config.jwt.jwksUrl));
  } else if (config.jwt.secret) {
    source = "shared-key";
    localKeys = [config.jwt.secret, ...config.jwt.retiredSecrets].map((secret) => localKey(new TextEncoder().encode(secret)));
  } else {
    source = "development-key";
    localKeys = [localKey(new Uint8Array(loadOrCreateKeyFile(config.dataDir, DEV_SIGNING_KEY_FILE)))];
  }
  const algorithms = source === "jwks" ? ["RS256", "PS256", "ES256", "EdDSA"] : ["HS256"];

  return {
    source,
    async verify(token) {
      if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw unauthenticated("Invalid bearer token");
      let payload: JWTPayload;
      try {
        const options = { issuer, audience, algorithms, requiredClaims: ["exp"], currentDate: new Date(clock.now()) };
        const verified = remoteKeys
          ? await jwtVerify(token, remoteKeys, options)
          : await verifyUnderKeyring(token, localKeys, options, (kid) => kid === undefined);
        payload = verified.payload;
      } catch {
        throw unauthenticated("Invalid or expired bearer token");
      }
      if (typeof payload.sub !== "string" || payload.sub.length === 0 || payload.sub.length > 64) {
        throw unauthenticated("The bearer token names no user");
      }
      // A token lives no longer than the limit from when it was issued (or from now, when it does not say).
      const issuedAt = typeof payload.iat === "number" ? payload.iat : Math.floor(clock.now() / 1000);
      if (payload.exp! - issuedAt > maxLifetimeSeconds) {
        throw unauthenticated(`The bearer token lives longer than the ${maxLifetimeSeconds} s allowed`);
      }
      return payload as JWTPayload & { sub: string; exp: number };
    },
    async sign(userId, lifetimeSeconds, claims = {}) {
      const signing = localKeys[0];
      if (signing === undefined) throw new Error("Tokens can only be signed with a local key");
      const now = Math.floor(clock.now() / 1000);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: signing.kid })
        .setSubject(userId)
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt(now)
        .setExpirationTime(now + lifetimeSeconds)
        .sign(signing.key);
    },
  };
}

/** The token of an `Authorization: Bearer <token>` header value, or null when there is none. */
export function bearerToken(header: string | undefined | null): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : "";
}
