import { ChangeWalletRoleDocument, GrantWalletAccessDocument, RevokeWalletAccessDocument } from "../generated/graphql.js";
import { execute, type GraphQLResult } from "./graphql-client.js";
import type { TestServer } from "./test-server.js";

/** The three access mutations by a short name, for tables of cases. */
export type AccessMutation = "grant" | "change" | "revoke";

/**
 * Sends one access mutation with any input, well-formed or not, as tables of cases need; the answer's data is
 * left untyped since it depends on the mutation.
 */
export function accessMutation(
  url: string,
  mutation: AccessMutation,
  input: Record<string, unknown>,
  token: string | undefined,
): Promise<GraphQLResult<unknown>> {
  const document = { grant: GrantWalletAccessDocument, change: ChangeWalletRoleDocument, revoke: RevokeWalletAccessDocument }[mutation];
  return execute(url, document as typeof GrantWalletAccessDocument, { input } as never, { token });
}

/** Has the demo Owner grant or revoke a user's access to a wallet; fails the test if the mutation is refused. */
async function ownerChanges(server: TestServer, mutation: "grant" | "revoke", email: string, walletId: string): Promise<void> {
  const result = await accessMutation(
    server.url,
    mutation,
    { userId: await server.userId(email), walletId },
    await server.token("owner@example.com"),
  );
  if (result.errors) throw new Error(`${mutation} was refused: ${JSON.stringify(result.errors)}`);
}

/** Has the demo Owner revoke a user's access to a wallet. */
export const ownerRevokes = (server: TestServer, email: string, walletId: string) => ownerChanges(server, "revoke", email, walletId);
/** Has the demo Owner grant a user READ_ONLY on a wallet. */
export const ownerGrants = (server: TestServer, email: string, walletId: string) => ownerChanges(server, "grant", email, walletId);
