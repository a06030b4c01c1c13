import { RevokeWalletAccessDocument } from "../generated/graphql.js";
import { execute } from "./graphql-client.js";
import type { TestServer } from "./test-server.js";

/** Has the demo Owner revoke a user's access to a wallet; fails the test if the mutation is refused. */
export async function ownerRevokes(server: TestServer, email: string, walletId: string): Promise<void> {
  const revoke = await execute(
    server.url,
    RevokeWalletAccessDocument,
    { input: { userId: await server.userId(email), walletId } },
    { token: await server.token("owner@example.com") },
  );
  if (revoke.errors) throw new Error(`revokeWalletAccess was refused: ${JSON.stringify(revoke.errors)}`);
}
