import type { EntityManager } from "@mikro-orm/core";
import { loadViewer, type Viewer } from "../access/viewer.js";
import { DomainError, unauthenticated } from "../domain-error.js";
import { bearerToken, type TokenService } from "./tokens.js";

export type Authentication = { viewer: Viewer; error: null } | { viewer: null; error: DomainError };

/**
 * Resolves the caller from an `Authorization` header value. Never throws for bad input: the failure is returned
 * so that each transport decides how to refuse (GraphQL error, WebSocket close code, HTTP status).
 */
export async function authenticate(
  tokens: TokenService,
  em: EntityManager,
  authorization: string | undefined | null,
): Promise<Authentication> {
  const token = bearerToken(authorization);
  if (token === null) return { viewer: null, error: unauthenticated() };
  try {
    const claims = await tokens.verify(token);
    const viewer = await loadViewer(em, claims.sub);
    if (!viewer) return { viewer: null, error: unauthenticated("The bearer token names an unknown user") };
    return { viewer, error: null };
  } catch (error) {
    if (error instanceof DomainError) return { viewer: null, error };
    throw error;
  }
}
