import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { User } from "../src/access/user.entity.js";
import { IdentityLink } from "../src/auth/identity-link.entity.js";
import { DEV_SIGNING_KEY_FILE } from "../src/auth/tokens.js";
import { loadOrCreateKeyFile } from "../src/credentials/key-file.js";
import { WalletDocument, WalletsDocument, type WalletsQuery } from "./generated/graphql.js";
import { DEMO_WALLETS, OTHER_WALLET, TEST_USERS } from "./support/fixtures.js";
import { codes, execute } from "./support/graphql-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

let server: TestServer;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  server = await startTestServer();
  for (const email of TEST_USERS) {
    tokens[email] = await server.token(email);
  }
});
afterAll(() => server?.close());

describe("wallets", () => {
  it.each([
    ["owner@example.com", [DEMO_WALLETS.ETH, DEMO_WALLETS.BTC, DEMO_WALLETS.USDT]],
    ["admin@example.com", [DEMO_WALLETS.USDT]],
    ["ops@example.com", [DEMO_WALLETS.ETH, DEMO_WALLETS.BTC]],
    ["viewer@example.com", [DEMO_WALLETS.ETH]],
    ["other-owner@example.com", [OTHER_WALLET]],
    ["other-reader@example.com", [OTHER_WALLET]],
  ])("%s sees exactly their wallets", async (email, expected) => {
    const result = await execute(server.url, WalletsDocument, {}, { token: tokens[email] });
    expect(result.errors).toBeUndefined();
    expect(result.data!.wallets.edges.map((edge) => edge.node.id)).toEqual(expected);
  });

  it("returns the platform's fields with exact decimal strings", async () => {
    const result = await execute(server.url, WalletDocument, { id: DEMO_WALLETS.ETH }, { token: tokens["owner@example.com"] });
    expect(result.data!.wallet).toMatchObject({
      id: DEMO_WALLETS.ETH,
      status: "ACTIVE",
      type: "MERCHANT",
      currency: { iso: 1002, alpha: "ETH", name: "Ethereum", exp: 18 },
      balanceConfirmed: "12.482310000000000000",
      balancePending: "0.300000000000000000",
      balanceUnusable: "0.000000000000000000",
    });
    expect(new Date(result.data!.wallet!.createdAt).getTime()).not.toBeNaN();
  });

  it("pages with cursors and no gap or repeat", async () => {
    const token = tokens["owner@example.com"];
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page++) {
      const result = await execute(server.url, WalletsDocument, { first: 1, after }, { token });
      const connection: WalletsQuery["wallets"] = result.data!.wallets;
      seen.push(...connection.edges.map((edge) => edge.node.id));
      expect(connection.pageInfo.hasPreviousPage).toBe(after !== null);
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor!;
    }
    expect(seen).toEqual([DEMO_WALLETS.ETH, DEMO_WALLETS.BTC, DEMO_WALLETS.USDT]);
  });

  it("filters by status, type and currency", async () => {
    const token = tokens["owner@example.com"];
    const byType = await execute(server.url, WalletsDocument, { filter: { types: ["ENTERPRISE"] } }, { token });
    expect(byType.data!.wallets.edges.map((edge) => edge.node.id)).toEqual([DEMO_WALLETS.USDT]);
    const byCurrency = await execute(server.url, WalletsDocument, { filter: { currencies: ["BTC", "ETH"] } }, { token });
    expect(byCurrency.data!.wallets.edges.map((edge) => edge.node.id)).toEqual([DEMO_WALLETS.ETH, DEMO_WALLETS.BTC]);
    const none = await execute(server.url, WalletsDocument, { filter: { statuses: ["NOT_ACTIVE"] } }, { token });
    expect(none.data!.wallets.edges).toEqual([]);
  });

  it("wallet(id) answers null for a wallet the viewer may not see, or that does not exist", async () => {
    const viewer = tokens["viewer@example.com"];
    expect((await execute(server.url, WalletDocument, { id: DEMO_WALLETS.BTC }, { token: viewer })).data!.wallet).toBeNull();
    expect((await execute(server.url, WalletDocument, { id: OTHER_WALLET }, { token: viewer })).data!.wallet).toBeNull();
    expect((await execute(server.url, WalletDocument, { id: "999999" }, { token: viewer })).data!.wallet).toBeNull();
    const other = tokens["other-owner@example.com"];
    expect((await execute(server.url, WalletDocument, { id: DEMO_WALLETS.ETH }, { token: other })).data!.wallet).toBeNull();
  });

  it.each([
    ["first: -1", { first: -1 }],
    ["first: 0", { first: 0 }],
    ["first: 100000", { first: 100000 }],
    ["a huge after", { after: "A".repeat(100_000) }],
    ["a made-up after", { after: "bm90LWEtY3Vyc29y" }],
    ["a filter with too many values", { filter: { currencies: Array.from({ length: 51 }, (_, i) => `C${i}`) } }],
  ])("%s is BAD_USER_INPUT, never an internal error", async (_name, variables) => {
    const result = await execute(server.url, WalletsDocument, variables, { token: tokens["owner@example.com"] });
    expect(codes(result)).toEqual(["BAD_USER_INPUT"]);
    expect(result.data).toBeNull();
  });

  it.each([["a malformed id", "not a wallet id!"], ["a huge id", "9".repeat(10_000)], ["an empty id", ""]])(
    "wallet(id) with %s is BAD_USER_INPUT",
    async (_name, id) => {
      const result = await execute(server.url, WalletDocument, { id }, { token: tokens["owner@example.com"] });
      expect(codes(result)).toEqual(["BAD_USER_INPUT"]);
    },
  );

  it("a first beyond the Int range is refused as input, not as an internal error", async () => {
    const result = await execute(server.url, WalletsDocument, { first: 2 ** 40 }, { token: tokens["owner@example.com"] });
    expect(codes(result)).toEqual(["BAD_USER_INPUT"]);
  });
});

describe("authentication", () => {
  it.each([
    ["no token", {}],
    ["a malformed header", { authorization: "Token abc" }],
    ["a token that is not a JWT", { authorization: "Bearer not-a-jwt" }],
    ["a token signed with another key", {
      authorization:
        "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4IiwiaXNzIjoiYWNjZXNzLXN1YmdyYXBoIiwiYXVkIjoiYWNjZXNzLXN1YmdyYXBoIn0.Zm9yZ2Vk",
    }],
  ])("%s: UNAUTHENTICATED, HTTP 401 and no data", async (_name, headers) => {
    const result = await execute(server.url, WalletsDocument, {}, { headers });
    expect(result.status).toBe(401);
    expect(codes(result)).toEqual(["UNAUTHENTICATED"]);
    expect(result.data).toBeUndefined();
  });

  it("refuses an expired token, one for another audience and one for an unknown user", async () => {
    const tokensService = server.service.tokens;
    const ownerId = await server.userId("owner@example.com");
    const expired = await tokensService.sign(ownerId, -10);
    const unknownUser = await tokensService.sign("00000000-0000-4000-8000-000000000000", 600);
    for (const token of [expired, unknownUser]) {
      const result = await execute(server.url, WalletsDocument, {}, { token });
      expect(result.status).toBe(401);
      expect(codes(result)).toEqual(["UNAUTHENTICATED"]);
    }
  });

  /** A token of the owner signed with the server's own key, its lifetime claims set by `claims`. */
  async function ownerToken(claims: (token: SignJWT) => SignJWT): Promise<string> {
    const key = loadOrCreateKeyFile(server.dataDir, DEV_SIGNING_KEY_FILE);
    const token = new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(await server.userId("owner@example.com"))
      .setIssuer("access-subgraph")
      .setAudience("access-subgraph");
    return claims(token).sign(new Uint8Array(key));
  }

  it.each([
    ["no exp", (token: SignJWT) => token.setIssuedAt()],
    ["an exp 13 h after its iat", (token: SignJWT) => token.setIssuedAt().setExpirationTime("13h")],
    ["no iat and an exp 13 h from now", (token: SignJWT) => token.setExpirationTime("13h")],
    ["an iat long ago, so that its lifetime exceeds 12 h", (token: SignJWT) => token.setIssuedAt(Math.floor(Date.now() / 1000) - 13 * 3600).setExpirationTime("1h")],
  ])("refuses a token with %s: its lifetime must be known and at most JWT_MAX_LIFETIME_SECONDS", async (_name, claims) => {
    const result = await execute(server.url, WalletsDocument, {}, { token: await ownerToken(claims) });
    expect(result.status).toBe(401);
    expect(codes(result)).toEqual(["UNAUTHENTICATED"]);
  });

  it("accepts a token of the CLI's 12 hours, and so without iat", async () => {
    for (const claims of [(token: SignJWT) => token.setIssuedAt().setExpirationTime("12h"), (token: SignJWT) => token.setExpirationTime("11h")]) {
      const result = await execute(server.url, WalletsDocument, {}, { token: await ownerToken(claims) });
      expect(result.errors).toBeUndefined();
    }
  });
});

describe("tokens from an identity provider's JWKS", () => {
  it("accepts a token signed with a key the JWKS publishes, and refuses one signed with another key", async () => {
    const { SignJWT, exportJWK, generateKeyPair } = await import("jose");
    const http = await import("node:http");
    const { privateKey, publicKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "idp-1", alg: "ES256", use: "sig" };
    const jwks = http.createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
    const { port } = jwks.address() as { port: number };
    const idp = await startTestServer({
      JWT_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      JWT_ISSUER: "https://idp.example.com/",
      JWT_AUDIENCE: "payments-api",
    });
    try {
      // The provider's subject names the viewer through the link accepting an invitation makes.
      const em = idp.em();
      const viewer = em.getReference(User, await idp.userId("viewer@example.com"));
      em.create(IdentityLink, { user: viewer, issuer: "https://idp.example.com/", subject: "idp-subject-of-viewer" });
      await em.flush();
      const sign = (key: Parameters<InstanceType<typeof SignJWT>["sign"]>[0], claims: { iss: string; aud: string }) =>
        new SignJWT({})
          .setProtectedHeader({ alg: "ES256", kid: "idp-1" })
          .setSubject("idp-subject-of-viewer")
          .setIssuer(claims.iss)
          .setAudience(claims.aud)
          .setExpirationTime("5m")
          .sign(key);
      const good = await sign(privateKey, { iss: "https://idp.example.com/", aud: "payments-api" });
      const ok = await execute(idp.url, WalletsDocument, {}, { token: good });
      expect(ok.data!.wallets.edges.map((edge) => edge.node.id)).toEqual([DEMO_WALLETS.ETH]);

      const otherKey = (await generateKeyPair("ES256")).privateKey;
      const forged = await sign(otherKey, { iss: "https://idp.example.com/", aud: "payments-api" });
      const wrongAudience = await sign(privateKey, { iss: "https://idp.example.com/", aud: "another-api" });
      const wrongIssuer = await sign(privateKey, { iss: "https://evil.example.com/", aud: "payments-api" });
      for (const token of [forged, wrongAudience, wrongIssuer]) {
        const refused = await execute(idp.url, WalletsDocument, {}, { token });
        expect(refused.status).toBe(401);
        expect(codes(refused)).toEqual(["UNAUTHENTICATED"]);
      }
    } finally {
      await idp.close();
      jwks.close();
    }
  });
});
