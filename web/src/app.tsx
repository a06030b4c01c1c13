import { ApolloProvider, useQuery } from "@apollo/client/react";
import { useCallback, useEffect, useMemo, useState } from "react";
import { createApiClient } from "./api-client";
import { apiErrors } from "./api-errors";
import { AccessListPage, ACCESS_LIST_TABS } from "./access/access-list-page";
import { ErrorMessages } from "./components/error-messages";
import { DashboardPage } from "./dashboard/dashboard-page";
import { ViewerDocument } from "./generated/graphql";
import { Layout } from "./layout";
import { Link, usePath } from "./navigation/location";
import { InvitationPage } from "./people/invitation-page";
import { TwoFactorPage } from "./people/two-factor-page";
import { SessionContext, type Session } from "./session/session-context";
import { SignIn } from "./session/sign-in";
import { tokenExpiry, tokenStore } from "./session/token-store";
import type { Settings } from "./settings";

/** Longest wait a browser timer takes (about 24.8 days). */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** The tab's sign-in state, its GraphQL client, and the page for the address. */
export function App({ settings, initialToken }: { settings: Settings; initialToken: string | null }) {
  const [token, setToken] = useState<string | null>(initialToken);
  const [reason, setReason] = useState<string | null>(null);
  const signOut = useCallback((why: string | null) => {
    tokenStore.clear();
    setToken(null);
    setReason(why);
  }, []);
  const signIn = useCallback((next: string) => {
    tokenStore.write(next);
    setReason(null);
    setToken(next);
  }, []);
  const client = useMemo(
    () => createApiClient({ routerUrl: settings.routerUrl, token, onUnauthenticated: (message) => signOut(`The API refused your token: ${message}`) }),
    [settings.routerUrl, token, signOut],
  );
  useEffect(
    () => () => {
      client.stop();
      void client.clearStore();
    },
    [client],
  );
  useEffect(() => {
    const expiry = token ? tokenExpiry(token) : null;
    if (!expiry) return;
    const wait = expiry.getTime() - Date.now();
    if (wait > LONGEST_TIMER_MS) return;
    const timer = setTimeout(() => signOut(`Your token expired at ${expiry.toLocaleString()}: sign in with a new one.`), Math.max(0, wait));
    return () => clearTimeout(timer);
  }, [token, signOut]);

  const path = usePath();
  return (
    <ApolloProvider client={client}>
      {path === "/invitation" ? (
        <InvitationPage signedIn={token !== null} onToken={signIn} />
      ) : token ? (
        <SignedIn key={token} settings={settings} token={token} signOut={signOut} path={path} />
      ) : (
        <main className="narrow">
          <SignIn reason={reason} onToken={signIn} />
        </main>
      )}
    </ApolloProvider>
  );
}

function SignedIn({ settings, token, signOut, path }: Omit<Session, "viewer"> & { path: string }) {
  const { data, error, refetch } = useQuery(ViewerDocument, { fetchPolicy: "network-only" });
  if (!data) {
    return (
      <main className="narrow">
        {error ? (
          <>
            <ErrorMessages errors={apiErrors(error)} />
            <button type="button" onClick={() => void refetch()}>
              Try again
            </button>
          </>
        ) : (
          <p role="status">Signing in…</p>
        )}
      </main>
    );
  }
  const session: Session = { settings, token, viewer: data.me, signOut };
  return (
    <SessionContext value={session}>
      <Layout>
        <Page path={path} />
      </Layout>
    </SessionContext>
  );
}

function Page({ path }: { path: string }) {
  if (path === "/") return <DashboardPage />;
  const tab = ACCESS_LIST_TABS.find((entry) => entry.path === path);
  if (tab) return <AccessListPage tab={tab.id} />;
  if (path === "/two-factor") return <TwoFactorPage />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        Nothing is at {path}. <Link to="/">Back to the dashboard</Link>
      </p>
    </section>
  );
}
