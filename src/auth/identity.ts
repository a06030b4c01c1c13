import type { JWTPayload } from "jose";
import { readViewerRecord, SELECT_VIEWER, type ViewerRecord } from "../access/viewer.js";
import type { RunStatement, Statement } from "../db/statement.js";
import type { TokenService } from "./tokens.js";
import { bearerToken } from "./tokens.js";

/** Who an identity provider says the caller is: its issuer and the subject it names. */
export interface ProviderIdentity {
  issuer: string;
  subject: string;
}

/** The identity a verified token's claims name (its issuer is the configured one: the token service checks it). */
export function identityOf(claims: JWTPayload & { sub: string }): ProviderIdentity {
  return { issuer: String(claims.iss ?? ""), subject: claims.sub };
}

/**
 * The identity in a bearer token verified by the token service (its issuer is the one configured), or null when
 * the request carries none. Throws UNAUTHENTICATED for a token that does not verify.
 */
export async function providerIdentity(tokens: TokenService, authorization: string | null | undefined): Promise<ProviderIdentity | null> {
  const token = bearerToken(authorization);
  if (token === null) return null;
  return identityOf(await tokens.verify(token));
}

const LINKED_VIEWER: Statement = {
  name: "viewer_by_identity",
  text: `${SELECT_VIEWER} where u.id = coalesce((select l.user_id from identity_link l where l.issuer = ? and l.subject = ?), ?)`,
};

/**
 * The viewer an identity names, in one statement: the user linked to the issuer's subject (`identity_link`), or,
 * when there is no link and `userId` is given, the user with that id. Only a stored link maps a provider's
 * subject to a user; no claim of the token (an e-mail address least of all) does.
 */
export function loadLinkedViewer(run: RunStatement, identity: ProviderIdentity, userId: string | null): Promise<ViewerRecord | null> {
  return readViewerRecord(run, LINKED_VIEWER, [identity.issuer, identity.subject, userId]);
}
