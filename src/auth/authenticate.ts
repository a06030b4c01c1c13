import type { EntityManager } from "@mikro-orm/core";
import { UserKind } from "../access/roles.js";
import { loadViewerRecord, type Viewer } from "../access/viewer.js";
import { ApiAccess } from "../credentials/api-access.entity.js";
import { ApiTokenService } from "./api-token.js";
import { accountSuspended, DomainError, forbidden, unauthenticated } from "../domain-error.js";
import { isAllowed } from "../network/ip-whitelist.js";
import { identityOf, loadLinkedViewer } from "./identity.js";
import { bearerToken, type TokenService } from "./tokens.js";
import type { RunStatement } from "../db/statement.js";

/** Who is calling, as one authentication found: when the token stops being valid, and the account's access version then. */
export interface Authenticated {
  viewer: Viewer;
  /** When the token stops being valid, epoch ms. */
  expiresAt: number;
  /** The account's access version, read with the viewer: a session checks its access again once it moves. */
  accessVersion: number;
}

export type Authentication = (Authenticated & { error: null }) | { viewer: null; error: DomainError };

/** What authentication needs: the token services, and the database's statements that read the viewer. */
export interface AuthenticationServices {
  tokens: TokenService;
  apiTokens: ApiTokenService;
  /** Runs the viewer's read (`Database.execute`): it needs no entity manager. */
  execute: RunStatement;
}

/**
 * The API user, from an access token of `/token`: valid only while its account is not suspended, the API user is
 * active, the key it was issued for is the current one, and the caller's address is on the whitelist. Checked on
 * every request, so suspension, deactivation and regeneration take effect at once.
 */
async function authenticateApiUser(
  services: AuthenticationServices,
  em: EntityManager,
  token: string,
  clientAddress: string,
): Promise<Authenticated> {
  const claims = await services.apiTokens.verify(token);
  const record = await loadViewerRecord(services.execute, claims.sub);
  if (!record || record.viewer.kind !== UserKind.API) throw unauthenticated("The access token names no API user");
  if (record.accountSuspended) throw accountSuspended();
  const { viewer } = record;
  const access = await em.findOne(ApiAccess, { account: viewer.accountId });
  if (!access?.active || access.apiKey !== claims.key) {
    throw unauthenticated("The API credentials of this token were revoked or the API user is inactive");
  }
  if (!isAllowed(access.ipWhitelist, clientAddress)) {
    throw forbidden(`API access from ${clientAddress} is not allowed by the account's IP whitelist`);
  }
  return { viewer, expiresAt: claims.exp * 1000, accessVersion: record.accessVersion };
}

/**
 * A person, from a user token. Its issuer's subject names the user linked to it (a link is made when the user
 * accepts an invitation with the provider's token); with a local key (the development key or a shared one) a
 * subject that is a user id also names that user, as the CLI's tokens do. Tokens from a JWKS are trusted for who
 * the provider says the caller is, never for which user that is: without a link they name nobody. One statement
 * reads the user and its account's suspension.
 */
async function authenticateUser(
  services: AuthenticationServices,
  em: EntityManager,
  token: string,
): Promise<Authenticated> {
  const claims = await services.tokens.verify(token);
  const fromProvider = services.tokens.source === "jwks";
  const record = await loadLinkedViewer(services.execute, identityOf(claims), fromProvider ? null : claims.sub);
  if (!record) {
    throw unauthenticated(
      fromProvider
        ? "This sign-in is not linked to a user: accept the invitation first"
        : "The bearer token names an unknown user",
    );
  }
  if (record.viewer.kind === UserKind.API) throw unauthenticated("The API user signs in with an access token from /token");
  if (record.accountSuspended) throw accountSuspended();
  return { viewer: record.viewer, expiresAt: claims.exp * 1000, accessVersion: record.accessVersion };
}

/**
 * Resolves the caller from an `Authorization` header value. Never throws for bad input: the failure is returned
 * so that each transport decides how to refuse (GraphQL error, WebSocket close code, HTTP status). The users and
 * API user of a suspended account are refused with ACCOUNT_SUSPENDED.
 */
export async function authenticate(
  services: AuthenticationServices,
  em: EntityManager,
  authorization: string | undefined | null,
  clientAddress: string,
): Promise<Authentication> {
  const token = bearerToken(authorization);
  if (token === null) return { viewer: null, error: unauthenticated() };
  try {
    const authenticated = ApiTokenService.isApiToken(token)
      ? await authenticateApiUser(services, em, token, clientAddress)
      : await authenticateUser(services, em, token);
    return { ...authenticated, error: null };
  } catch (error) {
    if (error instanceof DomainError) return { viewer: null, error };
    throw error;
  }
}
