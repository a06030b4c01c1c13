import type { EntityManager } from "@mikro-orm/core";
import { UserKind } from "../access/roles.js";
import { loadViewer, type Viewer } from "../access/viewer.js";
import { ApiAccess } from "../credentials/api-access.entity.js";
import { ApiTokenService } from "./api-token.js";
import { DomainError, forbidden, unauthenticated } from "../domain-error.js";
import { isAllowed } from "../network/ip-whitelist.js";
import { bearerToken, type TokenService } from "./tokens.js";

export type Authentication =
  /** `expiresAt`: when the token stops being valid, epoch ms. */
  | { viewer: Viewer; error: null; expiresAt: number }
  | { viewer: null; error: DomainError };

export interface AuthenticationKeys {
  tokens: TokenService;
  apiTokens: ApiTokenService;
}

/**
 * The API user, from an access token of `/token`: valid only while the API user is active, the key it was
 * issued for is the current one, and the caller's address is on the whitelist. Checked on every request, so
 * deactivation and regeneration take effect at once.
 */
async function authenticateApiUser(
  keys: AuthenticationKeys,
  em: EntityManager,
  token: string,
  clientAddress: string,
): Promise<{ viewer: Viewer; expiresAt: number }> {
  const claims = await keys.apiTokens.verify(token);
  const viewer = await loadViewer(em, claims.sub);
  if (!viewer || viewer.kind !== UserKind.API) throw unauthenticated("The access token names no API user");
  const access = await em.findOne(ApiAccess, { account: viewer.accountId });
  if (!access?.active || access.apiKey !== claims.key) {
    throw unauthenticated("The API credentials of this token were revoked or the API user is inactive");
  }
  if (!isAllowed(access.ipWhitelist, clientAddress)) {
    throw forbidden(`API access from ${clientAddress} is not allowed by the account's IP whitelist`);
  }
  return { viewer, expiresAt: claims.exp * 1000 };
}

/**
 * Resolves the caller from an `Authorization` header value. Never throws for bad input: the failure is returned
 * so that each transport decides how to refuse (GraphQL error, WebSocket close code, HTTP status).
 */
export async function authenticate(
  keys: AuthenticationKeys,
  em: EntityManager,
  authorization: string | undefined | null,
  clientAddress: string,
): Promise<Authentication> {
  const token = bearerToken(authorization);
  if (token === null) return { viewer: null, error: unauthenticated() };
  try {
    if (ApiTokenService.isApiToken(token)) {
      return { ...(await authenticateApiUser(keys, em, token, clientAddress)), error: null };
    }
    const claims = await keys.tokens.verify(token);
    const viewer = await loadViewer(em, claims.sub);
    if (!viewer) return { viewer: null, error: unauthenticated("The bearer token names an unknown user") };
    if (viewer.kind === UserKind.API) {
      return { viewer: null, error: unauthenticated("The API user signs in with an access token from /token") };
    }
    return { viewer, error: null, expiresAt: claims.exp * 1000 };
  } catch (error) {
    if (error instanceof DomainError) return { viewer: null, error };
    throw error;
  }
}
