import { RegenerateApiCredentialsDocument, SetApiUserActiveDocument } from "../generated/graphql.js";
import { execute } from "./graphql-client.js";
import type { TestServer } from "./test-server.js";
import { requestToken } from "./token-client.js";

/**
 * Has the demo Owner activate the API user and regenerate its credentials, as the how-to page describes, and
 * exchanges them for an access token at /token.
 */
export async function apiUserAccess(server: TestServer): Promise<{ apiKey: string; apiSecret: string; token: string }> {
  const owner = await server.token("owner@example.com");
  const activated = await execute(
    server.url,
    SetApiUserActiveDocument,
    { input: { active: true, confirmation: server.confirmation() } },
    { token: owner },
  );
  if (activated.errors) throw new Error(JSON.stringify(activated.errors));
  const regenerated = await execute(
    server.url,
    RegenerateApiCredentialsDocument,
    { input: { confirmation: server.confirmation() } },
    { token: owner },
  );
  if (regenerated.errors) throw new Error(JSON.stringify(regenerated.errors));
  const { apiKey, apiSecret } = regenerated.data!.regenerateApiCredentials;
  const issued = await requestToken(server.url, apiKey, apiSecret);
  return { apiKey, apiSecret, token: issued.body.data?.attributes.access ?? "" };
}
