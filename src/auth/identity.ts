import type { TokenService } from "./tokens.js";
import { bearerToken } from "./tokens.js";

/** Who an identity provider says the caller is: its issuer and the subject it names. */
export interface ProviderIdentity {
  issuer: string;
  subject: string;
}

/**
 * The identity in a bearer token verified by the token service (its issuer is the one configured), or null when
 * the request carries none. Throws UNAUTHENTICATED for a token that does not verify.
 */
export async function providerIdentity(tokens: TokenService, authorization: string | null | undefined): Promise<ProviderIdentity | null> {
  const token = bearerToken(authorization);
  if (token === null) return null;
  const claims = await tokens.verify(token);
  return { issuer: String(claims.iss ?? ""), subject: claims.sub };
}
