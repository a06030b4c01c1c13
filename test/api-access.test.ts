import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Account } from "../src/access/account.entity.js";
import { WalletStatus, WalletType } from "../src/wallets/wallet-enums.js";
import { Wallet } from "../src/wallets/wallet.entity.js";
import {
  ApiAccessDocument,
  MeDocument,
  RegenerateApiCredentialsDocument,
  SetApiIpWhitelistDocument,
  SetApiUserActiveDocument,
  WalletsDocument,
} from "./generated/graphql.js";
import { DEMO_WALLETS } from "./support/fixtures.js";
import { codes, execute } from "./support/graphql-client.js";
import { apiUserAccess } from "./support/api-user.js";
import { requestToken } from "./support/token-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

const NO_ACTIVE_ACCOUNT = "No active account found with the given credentials";

let server: TestServer;
let owner: string;

beforeAll(async () => {
  server = await startTestServer();
  owner = await server.token("owner@example.com");
});
afterAll(() => server?.close());

async function regenerate(): Promise<{ apiKey: string; apiSecret: string; cacheControl: string | null }> {
  const result = await execute(
    server.url,
    RegenerateApiCredentialsDocument,
    { input: { confirmation: server.confirmation() } },
    { token: owner },
  );
  expect(result.errors).toBeUndefined();
  const { apiKey, apiSecret } = result.data!.regenerateApiCredentials;
  return { apiKey, apiSecret, cacheControl: result.headers.get("cache-control") };
}

async function setActive(active: boolean) {
  const result = await execute(
    server.url,
    SetApiUserActiveDocument,
    { input: { active, confirmation: server.confirmation() } },
    { token: owner },
  );
  expect(result.errors).toBeUndefined();
  return result.data!.setApiUserActive.apiAccess;
}

async function setWhitelist(entries: string[]) {
  return execute(
    server.url,
    SetApiIpWhitelistDocument,
    { input: { entries, confirmation: server.confirmation() } },
    { token: owner },
  );
}

async function accessToken(apiKey: string, apiSecret: string): Promise<string> {
  const response = await requestToken(server.url, apiKey, apiSecret);
  expect(response.status).toBe(200);
  return response.body.data.attributes.access;
}

describe("API access, end to end through the HTTP server", () => {
  let first: { apiKey: string; apiSecret: string };
  let firstToken: string;

  it("refuses to issue credentials before the API user exists", async () => {
    const result = await execute(
      server.url,
      RegenerateApiCredentialsDocument,
      { input: { confirmation: server.confirmation() } },
      { token: owner },
    );
    expect(codes(result)).toEqual(["BAD_USER_INPUT"]);
    expect(result.errors![0]!.message).toMatch(/Activate the API user first/);
  });

  it("activates the API user, which holds ADMIN on every wallet of the account", async () => {
    const access = await setActive(true);
    expect(access).toMatchObject({ apiUserActive: true, apiUser: { kind: "API" }, ipWhitelist: [], credentials: null });
  });

  it("regenerates credentials: a prefixed key and a 256-bit secret, shown with no-store", async () => {
    const generated = await regenerate();
    first = generated;
    expect(generated.apiKey).toMatch(/^acs_key_[0-9a-f]{32}$/);
    expect(generated.apiSecret).toMatch(/^acs_secret_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(generated.apiSecret.slice("acs_secret_".length), "base64url")).toHaveLength(32);
    expect(generated.cacheControl).toBe("no-store");
    const status = await execute(server.url, ApiAccessDocument, {}, { token: owner });
    expect(status.data!.apiAccess.credentials).toMatchObject({ apiKey: generated.apiKey, lastUsedAt: null });
    expect(JSON.stringify(status)).not.toContain(generated.apiSecret);
  });

  it("issues a token in the platform's v3 shape that /graphql accepts as the API user", async () => {
    const response = await requestToken(server.url, first.apiKey, first.apiSecret);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/vnd\.api\+json/);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.body).toEqual({
      data: {
        type: "auth-token",
        attributes: { access: expect.any(String), expires_in: 300, token_type: "Bearer" },
      },
    });
    firstToken = response.body.data.attributes.access;

    const wallets = await execute(server.url, WalletsDocument, {}, { token: firstToken });
    expect(wallets.data!.wallets.edges.map((edge) => edge.node.id)).toEqual([
      DEMO_WALLETS.ETH,
      DEMO_WALLETS.BTC,
      DEMO_WALLETS.USDT,
    ]);
    const me = await execute(server.url, MeDocument, {}, { token: firstToken });
    expect(me.data!.me).toMatchObject({ isOwner: false, user: { kind: "API" } });
    expect(me.data!.me.grants.map((grant) => grant.role)).toEqual(["ADMIN", "ADMIN", "ADMIN"]);

    const status = await execute(server.url, ApiAccessDocument, {}, { token: owner });
    expect(status.data!.apiAccess.credentials!.lastUsedAt).not.toBeNull();
  });

  it("also accepts the trailing-slash path integrations use", async () => {
    const response = await fetch(`${server.url}/token/`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ data: { type: "auth-token", attributes: { client_id: first.apiKey, client_secret: first.apiSecret } } }),
    });
    expect(response.status).toBe(200);
  });

  it("regenerating revokes the previous pair and every token issued with it, at once", async () => {
    const second = await regenerate();
    const old = await requestToken(server.url, first.apiKey, first.apiSecret);
    expect(old.status).toBe(400);
    expect(old.body.errors[0]!.detail).toBe(NO_ACTIVE_ACCOUNT);
    const withOldToken = await execute(server.url, WalletsDocument, {}, { token: firstToken });
    expect(withOldToken.status).toBe(401);
    expect(codes(withOldToken)).toEqual(["UNAUTHENTICATED"]);
    const fresh = await accessToken(second.apiKey, second.apiSecret);
    expect((await execute(server.url, WalletsDocument, {}, { token: fresh })).data!.wallets.edges).toHaveLength(3);
    first = second;
  });

  it("deactivating stops every token of the API user at once, and /token answers as for wrong credentials", async () => {
    const token = await accessToken(first.apiKey, first.apiSecret);
    await setActive(false);
    const refused = await execute(server.url, WalletsDocument, {}, { token });
    expect(refused.status).toBe(401);
    expect(codes(refused)).toEqual(["UNAUTHENTICATED"]);
    const denied = await requestToken(server.url, first.apiKey, first.apiSecret);
    expect(denied.status).toBe(400);
    expect(denied.body.errors[0]!.detail).toBe(NO_ACTIVE_ACCOUNT);
    await setActive(true);
    expect((await execute(server.url, WalletsDocument, {}, { token })).data!.wallets.edges).toHaveLength(3);
  });

  it("refuses the API user a development or identity-provider token: only /token's tokens count", async () => {
    const apiUserId = (await execute(server.url, ApiAccessDocument, {}, { token: owner })).data!.apiAccess.apiUser!.id;
    const minted = await server.service.tokens.sign(apiUserId, 600);
    const result = await execute(server.url, WalletsDocument, {}, { token: minted });
    expect(codes(result)).toEqual(["UNAUTHENTICATED"]);
  });

  it("enforces the IP whitelist on /token and on GraphQL requests with an API token", async () => {
    const token = await accessToken(first.apiKey, first.apiSecret);
    expect((await setWhitelist(["203.0.113.0/24", "2001:db8::/32"])).errors).toBeUndefined();

    const denied = await requestToken(server.url, first.apiKey, first.apiSecret);
    expect(denied.status).toBe(403);
    const graphql = await execute(server.url, WalletsDocument, {}, { token });
    expect(graphql.status).toBe(403);
    expect(codes(graphql)).toEqual(["FORBIDDEN"]);

    // A spoofed X-Forwarded-For from an address that is not a trusted proxy changes nothing.
    const spoofed = await requestToken(server.url, first.apiKey, first.apiSecret, { "x-forwarded-for": "203.0.113.5" });
    expect(spoofed.status).toBe(403);
    const spoofedGraphql = await execute(server.url, WalletsDocument, {}, {
      token,
      headers: { "x-forwarded-for": "203.0.113.5" },
    });
    expect(codes(spoofedGraphql)).toEqual(["FORBIDDEN"]);

    // Users who are not the API user are never subject to the API whitelist.
    expect((await execute(server.url, WalletsDocument, {}, { token: owner })).data!.wallets.edges).toHaveLength(3);

    expect((await setWhitelist(["127.0.0.1"])).errors).toBeUndefined();
    expect((await requestToken(server.url, first.apiKey, first.apiSecret)).status).toBe(200);
    expect((await setWhitelist([])).data!.setApiIpWhitelist.apiAccess.ipWhitelist).toEqual([]);
    expect((await requestToken(server.url, first.apiKey, first.apiSecret)).status).toBe(200);
  });

  it.each([
    [["0.0.0.0/0"], /would allow every address/],
    [["::/0"], /would allow every address/],
    [["10.1.2.3/8"], /host bits set/],
    [Array.from({ length: 101 }, (_, i) => `10.0.1.${i}`), /at most 100 entries/],
    [["not-an-ip"], /is not an IPv4 or IPv6 address/],
  ])("refuses the whitelist %# with a precise message, before spending a code", async (entries, message) => {
    const confirmation = server.confirmation();
    const result = await execute(
      server.url,
      SetApiIpWhitelistDocument,
      { input: { entries, confirmation } },
      { token: owner },
    );
    expect(codes(result)).toEqual(["BAD_USER_INPUT"]);
    expect(result.errors![0]!.message).toMatch(message);
    // The code was not spent: it still confirms a valid change within its step.
    const retry = await execute(
      server.url,
      SetApiIpWhitelistDocument,
      { input: { entries: [], confirmation } },
      { token: owner },
    );
    expect(retry.errors).toBeUndefined();
  });

  it("normalises the whitelist, IPv4-mapped IPv6 as IPv4", async () => {
    const result = await setWhitelist(["::ffff:127.0.0.1", "2001:DB8:0::1", "198.51.100.0/24"]);
    expect(result.data!.setApiIpWhitelist.apiAccess.ipWhitelist).toEqual(["127.0.0.1", "2001:db8::1", "198.51.100.0/24"]);
    expect((await requestToken(server.url, first.apiKey, first.apiSecret)).status).toBe(200);
    await setWhitelist([]);
  });
});

describe("POST /token refusals", () => {
  it.each([
    ["malformed JSON", { "content-type": "application/vnd.api+json" }, '{"data":', 400, /Malformed JSON/],
    ["a wrong content type", { "content-type": "text/plain" }, "{}", 415, /application\/vnd\.api\+json/],
    ["no client_secret", { "content-type": "application/json" }, JSON.stringify({ data: { type: "auth-token", attributes: { client_id: "x" } } }), 400, /client_secret/],
    ["a wrong type", { "content-type": "application/json" }, JSON.stringify({ data: { type: "token", attributes: {} } }), 400, /data\.type/],
    ["a body over 16 KiB", { "content-type": "application/json" }, JSON.stringify({ pad: "x".repeat(20_000) }), 413, /At most/],
    ["an unknown key", { "content-type": "application/json" }, JSON.stringify({ data: { type: "auth-token", attributes: { client_id: "acs_key_00", client_secret: "s" } } }), 400, /No active account found/],
  ])("%s: %i with a JSON:API error and no stack trace", async (_name, headers, body, status, detail) => {
    const other = await startTestServer({}, { testAccounts: false });
    try {
      const response = await fetch(`${other.url}/token`, { method: "POST", headers, body });
      expect(response.status).toBe(status);
      const json = (await response.json()) as { errors: { detail: string }[] };
      expect(json.errors[0]!.detail).toMatch(detail);
      expect(JSON.stringify(json)).not.toMatch(/node_modules|at \w+ \(/);
    } finally {
      await other.close();
    }
  });

  it("answers GET with 405", async () => {
    const response = await fetch(`${server.url}/token`);
    expect(response.status).toBe(405);
  });

  it("answers 429 after 15 failed calls a minute from one address, even to correct credentials, until the minute ends", async () => {
    const limited = await startTestServer();
    try {
      const credentials = await apiUserAccess(limited);
      // Start at the beginning of a rate-limit minute so that the window cannot end mid-test.
      limited.clock.advance(60_000 - (limited.clock.now() % 60_000));
      const statuses: number[] = [];
      for (let i = 0; i < 15; i++) statuses.push((await requestToken(limited.url, credentials.apiKey, "wrong")).status);
      expect(statuses).toEqual(Array(15).fill(400));
      const throttled = await requestToken(limited.url, credentials.apiKey, credentials.apiSecret);
      expect(throttled.status).toBe(429);
      expect(Number(throttled.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(throttled.body.errors[0]!.detail).toBe("Request was throttled");
      limited.clock.advance(60_000);
      expect((await requestToken(limited.url, credentials.apiKey, credentials.apiSecret)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe("security mutations one at a time", () => {
  it("refuses two security mutations in one operation (aliases)", async () => {
    const confirmation = { password: "x", otp: "000000" };
    const result = await execute(
      server.url,
      `mutation($c: ConfirmationInput!) {
        a: setApiUserActive(input: { active: true, confirmation: $c }) { apiAccess { apiUserActive } }
        b: setApiUserActive(input: { active: true, confirmation: $c }) { apiAccess { apiUserActive } }
      }`,
      { c: confirmation },
      { token: owner },
    );
    expect(result.status).toBe(400);
    expect(codes(result)).toEqual(["BAD_USER_INPUT"]);
  });

  it("refuses batched HTTP requests", async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${owner}` },
      body: JSON.stringify([{ query: "{ me { isOwner } }" }, { query: "{ me { isOwner } }" }]),
    });
    expect(response.status).toBe(400);
  });
});

describe("behind a trusted proxy", () => {
  it("judges the API user by the forwarded client address only when the socket is a trusted proxy", async () => {
    const proxied = await startTestServer({ TRUSTED_PROXIES: "127.0.0.1/32, ::1" });
    try {
      const ownerToken = await proxied.token("owner@example.com");
      const confirmed = <T>(document: T, input: Record<string, unknown>) =>
        execute(proxied.url, document as never, { input: { ...input, confirmation: proxied.confirmation() } } as never, {
          token: ownerToken,
        });
      await confirmed(SetApiUserActiveDocument, { active: true });
      await confirmed(SetApiIpWhitelistDocument, { entries: ["203.0.113.0/24"] });
      const { apiKey, apiSecret } = ((await confirmed(RegenerateApiCredentialsDocument, {})).data as {
        regenerateApiCredentials: { apiKey: string; apiSecret: string };
      }).regenerateApiCredentials;

      const allowed = await requestToken(proxied.url, apiKey, apiSecret, { "x-forwarded-for": "198.51.100.9, 203.0.113.5" });
      expect(allowed.status).toBe(200);
      const token = allowed.body.data.attributes.access;
      const inside = await execute(proxied.url, WalletsDocument, {}, { token, headers: { "x-forwarded-for": "203.0.113.5" } });
      expect(inside.data!.wallets.edges).toHaveLength(3);

      expect((await requestToken(proxied.url, apiKey, apiSecret, { "x-forwarded-for": "198.51.100.9" })).status).toBe(403);
      expect((await requestToken(proxied.url, apiKey, apiSecret)).status).toBe(403);
      const outside = await execute(proxied.url, WalletsDocument, {}, { token, headers: { "x-forwarded-for": "198.51.100.9" } });
      expect(codes(outside)).toEqual(["FORBIDDEN"]);
    } finally {
      await proxied.close();
    }
  });
});

describe("wallets added later", () => {
  it("are the API user's too, with no grant step", async () => {
    const later = await startTestServer();
    try {
      const { token } = await apiUserAccess(later);

      const em = later.em();
      const account = await em.findOneOrFail(Account, { name: "Demo Merchant" });
      em.create(Wallet, {
        id: "10004",
        account,
        label: "TRX",
        status: WalletStatus.ACTIVE,
        type: WalletType.MERCHANT,
        currency: { iso: 1030, alpha: "TRX", name: "Tron", exp: 6 },
      });
      await em.flush();

      const me = await execute(later.url, MeDocument, {}, { token });
      expect(me.data!.me.grants.map((grant) => [grant.wallet.id, grant.role])).toContainEqual(["10004", "ADMIN"]);
      const wallet = await execute(later.url, WalletsDocument, { filter: { currencies: ["TRX"] } }, { token });
      expect(wallet.data!.wallets.edges.map((edge) => edge.node.id)).toEqual(["10004"]);
    } finally {
      await later.close();
    }
  });
});
