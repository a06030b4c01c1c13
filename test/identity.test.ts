import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Account } from "../src/access/account.entity.js";
import { User } from "../src/access/user.entity.js";
import { IdentityLink } from "../src/auth/identity-link.entity.js";
import { MeDocument, OnCallbackEventDocument, type OnCallbackEventSubscription } from "./generated/graphql.js";
import { apiUserAccess } from "./support/api-user.js";
import { depositCallback, headCursor, postCallback, regenerateCallbackSecret } from "./support/callbacks.js";
import { codes, execute } from "./support/graphql-client.js";
import { startIdentityProvider, type IdentityProvider } from "./support/identity-provider.js";
import { startTestServer, type TestServer } from "./support/test-server.js";
import { requestToken } from "./support/token-client.js";
import { endingErrors, subscribe, wsClient, type QueuedSubscription } from "./support/ws-client.js";

const ME = "{ me { user { email } } }";
type Me = { me: { user: { email: string } } };

const disposables: { dispose(): void | Promise<void> }[] = [];
afterAll(async () => {
  for (const disposable of disposables.reverse()) await disposable.dispose();
});

/** A graphql-ws client that the suite closes at the end. */
function client(url: string, token: string) {
  const ws = wsClient(url, { token });
  disposables.push(ws);
  return ws;
}

/** Stores a link from an issuer's subject to the user with that e-mail, as accepting an invitation does. */
async function link(server: TestServer, email: string, issuer: string, subject: string): Promise<void> {
  const em = server.em();
  em.create(IdentityLink, { user: em.getReference(User, await server.userId(email)), issuer, subject });
  await em.flush();
}

describe("with an identity provider (JWT_JWKS_URL): only a stored link names a user", () => {
  let idp: IdentityProvider;
  let server: TestServer;

  beforeAll(async () => {
    idp = await startIdentityProvider();
    disposables.push({ dispose: () => idp.close() });
    server = await startTestServer({ ...idp.env, WS_CONNECTION_INIT_TIMEOUT_MS: "500" });
    disposables.push({ dispose: () => server.close() });
  });

  it("refuses a subject with no link: UNAUTHENTICATED (401), asking to accept the invitation first", async () => {
    const result = await execute(server.url, MeDocument, {}, { token: await idp.sign("unlinked-subject") });
    expect(result.status).toBe(401);
    expect(codes(result)).toEqual(["UNAUTHENTICATED"]);
    expect(result.errors![0]!.message).toMatch(/accept the invitation first/);
    expect(result.data ?? null).toBeNull();
  });

  it.each([
    ["an e-mail claim naming a user", "subject-with-email", { email: "owner@example.com", email_verified: true }],
    ["a preferred username naming a user", "subject-with-username", { preferred_username: "owner@example.com" }],
  ])("refuses an unlinked subject with %s", async (_name, subject, claims) => {
    const result = await execute(server.url, MeDocument, {}, { token: await idp.sign(subject, claims) });
    expect(codes(result)).toEqual(["UNAUTHENTICATED"]);
    expect(result.data ?? null).toBeNull();
  });

  it("refuses a subject that is a user id: user ids name users only in tokens the service's own key signed", async () => {
    const result = await execute(server.url, MeDocument, {}, { token: await idp.sign(await server.userId("owner@example.com")) });
    expect(codes(result)).toEqual(["UNAUTHENTICATED"]);
  });

  it("a linked subject names its user over HTTP and over graphql-ws", async () => {
    await link(server, "viewer@example.com", idp.issuer, "subject-of-viewer");
    const token = await idp.sign("subject-of-viewer", { email: "owner@example.com" });

    const http = await execute(server.url, MeDocument, {}, { token });
    expect(http.errors).toBeUndefined();
    expect(http.data!.me.user.email).toBe("viewer@example.com");

    const operation = subscribe<Me>(client(server.url, token), ME);
    expect(await operation.next()).toEqual({ data: { me: { user: { email: "viewer@example.com" } } } });
    expect(await operation.ended).toBe("complete");
  });

  it("refuses an unlinked subject over graphql-ws (UNAUTHENTICATED), then closes with 4401", async () => {
    const ws = client(server.url, await idp.sign("unlinked-on-ws"));
    expect((await endingErrors(subscribe(ws, ME))).map((error) => error.code)).toEqual(["UNAUTHENTICATED"]);
    expect((await ws.closed).code).toBe(4401);
  });

  it("a link made for another issuer does not count", async () => {
    await link(server, "admin@example.com", "https://other-idp.example.test/", "shared-subject");
    const token = await idp.sign("shared-subject");
    expect(codes(await execute(server.url, MeDocument, {}, { token }))).toEqual(["UNAUTHENTICATED"]);

    // The same subject linked for this provider names the user of that link.
    await link(server, "ops@example.com", idp.issuer, "shared-subject");
    expect((await execute(server.url, MeDocument, {}, { token })).data!.me.user.email).toBe("ops@example.com");
  });

  it("refuses a linked subject in a token of another issuer, even signed with the provider's key", async () => {
    await link(server, "other-reader@example.com", idp.issuer, "subject-of-reader");
    const forged = await idp.sign("subject-of-reader", { iss: "https://other-idp.example.test/" });
    expect(codes(await execute(server.url, MeDocument, {}, { token: forged }))).toEqual(["UNAUTHENTICATED"]);
    const genuine = await idp.sign("subject-of-reader");
    expect((await execute(server.url, MeDocument, {}, { token: genuine })).data!.me.user.email).toBe("other-reader@example.com");
  });
});

/** Suspends or resumes the demo account as provisioning does: the mark, and a bump of its access version. */
async function setSuspended(server: TestServer, suspended: boolean): Promise<void> {
  const em = server.em();
  const account = await em.findOneOrFail(Account, { name: "Demo Merchant" });
  account.suspendedAt = suspended ? new Date(server.clock.now()) : null;
  account.accessVersion += 1;
  await em.flush();
}

describe("with the development key", () => {
  let server: TestServer;
  let api: { apiKey: string; apiSecret: string; token: string };
  let secret: string;

  beforeAll(async () => {
    server = await startTestServer({ API_TOKEN_LIFETIME_SECONDS: "3600", WS_CONNECTION_INIT_TIMEOUT_MS: "500" });
    disposables.push({ dispose: () => server.close() });
    api = await apiUserAccess(server);
    secret = await regenerateCallbackSecret(server);
  });

  it("a user id in `sub` names that user, as the CLI's tokens do", async () => {
    const result = await execute(server.url, MeDocument, {}, { token: await server.token("admin@example.com") });
    expect(result.data!.me.user.email).toBe("admin@example.com");
  });

  it("a subject linked for the configured issuer names the linked user", async () => {
    await link(server, "ops@example.com", server.service.config.jwt.issuer, "external-subject");
    const token = await server.service.tokens.sign("external-subject", 600);
    expect((await execute(server.url, MeDocument, {}, { token })).data!.me.user.email).toBe("ops@example.com");
  });

  describe("a suspended account", () => {
    async function live(token: string): Promise<QueuedSubscription<OnCallbackEventSubscription>> {
      return subscribe<OnCallbackEventSubscription>(client(server.url, token), OnCallbackEventDocument, {
        after: await headCursor(server, secret),
      });
    }

    it("ends the open subscriptions of its users and API user with ACCOUNT_SUSPENDED, then closes their sockets with 4401", async () => {
      const ownerClient = client(server.url, await server.token("owner@example.com"));
      const apiClient = client(server.url, api.token);
      const after = await headCursor(server, secret);
      const owner = subscribe<OnCallbackEventSubscription>(ownerClient, OnCallbackEventDocument, { after });
      const apiUser = subscribe<OnCallbackEventSubscription>(apiClient, OnCallbackEventDocument, { after });
      const other = subscribe<OnCallbackEventSubscription>(client(server.url, await server.token("other-owner@example.com")), OnCallbackEventDocument);
      expect((await postCallback(server.url, depositCallback(secret, { trackingId: "before-suspension" }))).status).toBe(200);
      for (const subscription of [owner, apiUser]) {
        expect((await subscription.next(10_000)).data!.callbackEvents.trackingId).toBe("before-suspension");
      }

      const suspendedAt = Date.now();
      await setSuspended(server, true);
      const suspended = [{ message: "The account is suspended", code: "ACCOUNT_SUSPENDED" }];
      expect(await endingErrors(owner)).toEqual(suspended);
      expect(await endingErrors(apiUser)).toEqual(suspended);
      expect((await ownerClient.closed).code).toBe(4401);
      expect((await apiClient.closed).code).toBe(4401);
      expect(Date.now() - suspendedAt).toBeLessThan(5000);

      // Another account's subscription goes on.
      const stillOpen = await Promise.race([other.ended.then(() => false), new Promise((resolve) => setTimeout(() => resolve(true), 1500))]);
      expect(stillOpen).toBe(true);
      await setSuspended(server, false);
    });

    it("refuses its users and API user on HTTP (403), on graphql-ws and at /token; other accounts go on", async () => {
      const ownerToken = await server.token("owner@example.com");
      await setSuspended(server, true);

      for (const token of [ownerToken, await server.token("viewer@example.com"), api.token]) {
        const result = await execute(server.url, MeDocument, {}, { token });
        expect([result.status, codes(result), result.errors![0]!.message]).toEqual([403, ["ACCOUNT_SUSPENDED"], "The account is suspended"]);
        expect(result.data ?? null).toBeNull();

        const ws = client(server.url, token);
        expect((await endingErrors(subscribe(ws, ME))).map((error) => error.code)).toEqual(["ACCOUNT_SUSPENDED"]);
        expect((await ws.closed).code).toBe(4401);
      }

      const issued = await requestToken(server.url, api.apiKey, api.apiSecret);
      expect([issued.status, issued.body.errors[0]!.detail]).toEqual([403, "The account is suspended"]);
      expect(issued.body.data).toBeUndefined();
      // Wrong credentials learn nothing of the suspension.
      expect((await requestToken(server.url, api.apiKey, "wrong-secret")).status).toBe(400);

      const other = await execute(server.url, MeDocument, {}, { token: await server.token("other-owner@example.com") });
      expect(other.data!.me.user.email).toBe("other-owner@example.com");
    });

    it("works again once resumed: HTTP, graphql-ws and /token", async () => {
      await setSuspended(server, false);
      const ownerToken = await server.token("owner@example.com");
      expect((await execute(server.url, MeDocument, {}, { token: ownerToken })).data!.me.user.email).toBe("owner@example.com");
      expect((await execute(server.url, MeDocument, {}, { token: api.token })).data!.me.user.kind).toBe("API");
      const issued = await requestToken(server.url, api.apiKey, api.apiSecret);
      expect(issued.status).toBe(200);
      expect((await execute(server.url, MeDocument, {}, { token: issued.body.data.attributes.access })).errors).toBeUndefined();

      const subscription = await live(ownerToken);
      expect((await postCallback(server.url, depositCallback(secret, { trackingId: "after-resumption" }))).status).toBe(200);
      expect((await subscription.next(10_000)).data!.callbackEvents.trackingId).toBe("after-resumption");
    });
  });
});
