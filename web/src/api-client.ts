import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { ErrorLink } from "@apollo/client/link/error";
import { apiErrors } from "./api-errors";

/**
 * The page's GraphQL client over HTTP, to the router: the tab's bearer token on every request (none before
 * sign-in), and any `UNAUTHENTICATED` answer reported, so that the page signs out with the API's words. Queries
 * go as JSON POSTs, which the API's CSRF prevention lets through. The cache holds what queries read; every
 * operation that carries a password or a code, or reveals a secret, is sent with `fetchPolicy: "no-cache"` so
 * that none of it is written there. The developer tools' hook stays off: it keeps every mutation's variables,
 * passwords and codes included, for as long as the page lives.
 */
export function createApiClient(options: {
  routerUrl: string;
  token: string | null;
  onUnauthenticated(message: string): void;
}): ApolloClient {
  const http = new HttpLink({
    uri: options.routerUrl,
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
  });
  const signOutWhenRefused = new ErrorLink(({ error }) => {
    const refused = apiErrors(error).find((entry) => entry.code === "UNAUTHENTICATED");
    if (refused && options.token) options.onUnauthenticated(refused.message);
  });
  return new ApolloClient({
    link: ApolloLink.from([signOutWhenRefused, http]),
    cache: new InMemoryCache(),
    devtools: { enabled: false },
  });
}
