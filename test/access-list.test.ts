import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  AccessListDocument,
  ChangeWalletRoleDocument,
  GrantWalletAccessDocument,
  MeDocument,
  RevokeWalletAccessDocument,
} from "./generated/graphql.js";
import { accessMutation, type AccessMutation } from "./support/access.js";
import { DEMO_WALLETS, OTHER_WALLET, TEST_USERS } from "./support/fixtures.js";
import { codes, execute } from "./support/graphql-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

let server: TestServer;
const token: Record<string, string> = {};
const id: Record<string, string> = {};

beforeAll(async () => {
  server = await startTestServer();
  for (const email of TEST_USERS) {
    token[email] = await server.token(email);
    id[email] = await server.userId(email);
  }
});
afterAll(() => server?.close());

async function accessListAsOwner() {
  const result = await execute(server.url, AccessListDocument, {}, { token: token["owner@example.com"] });
  expect(result.errors).toBeUndefined();
  return result.data!.accessList;
}

describe("me", () => {
  it.each([
    ["owner@example.com", true, "Demo Merchant", [["10001", "OWNER"], ["10002", "OWNER"], ["10003", "OWNER"]]],
    ["admin@example.com", false, "Demo Merchant", [["10003", "ADMIN"]]],
    ["ops@example.com", false, "Demo Merchant", [["10001", "WITHDRAWALS_WITH_APPROVAL"], ["10002", "WITHDRAWALS_WITH_APPROVAL"]]],
    ["viewer@example.com", false, "Demo Merchant", [["10001", "READ_ONLY"]]],
    ["other-owner@example.com", true, "Other Merchant", [[OTHER_WALLET, "OWNER"]]],
  ])("%s: owner=%s in %s with their role per wallet", async (email, isOwner, accountName, grants) => {
    const result = await execute(server.url, MeDocument, {}, { token: token[email] });
    expect(result.errors).toBeUndefined();
    const me = result.data!.me;
    expect(me.user).toEqual({ id: id[email], email, kind: "HUMAN" });
    expect(me.isOwner).toBe(isOwner);
    expect(me.account.name).toBe(accountName);
    expect(me.grants.map((grant) => [grant.wallet.id, grant.role])).toEqual(grants);
  });

  it("needs a token", async () => {
    const result = await execute(server.url, MeDocument, {});
    expect(result.status).toBe(401);
    expect(codes(result)).toEqual(["UNAUTHENTICATED"]);
    expect(result.data).toBeUndefined();
  });
});

describe("accessList", () => {
  it("shows the Owner every user of the account, and nobody from another account", async () => {
    const list = await accessListAsOwner();
    expect(list.map((entry) => entry.user.email)).toEqual([
      "owner@example.com",
      "admin@example.com",
      "ops@example.com",
      "viewer@example.com",
    ]);
    expect(list[0]).toMatchObject({ isOwner: true });
    expect(list[0]!.grants.map((grant) => grant.role)).toEqual(["OWNER", "OWNER", "OWNER"]);
    expect(list[1]!.grants).toEqual([{ role: "ADMIN", wallet: { id: DEMO_WALLETS.USDT } }]);
    expect(list[2]!.grants).toEqual([
      { role: "WITHDRAWALS_WITH_APPROVAL", wallet: { id: DEMO_WALLETS.ETH } },
      { role: "WITHDRAWALS_WITH_APPROVAL", wallet: { id: DEMO_WALLETS.BTC } },
    ]);
  });

  it.each(["admin@example.com", "ops@example.com", "viewer@example.com", "other-reader@example.com"])(
    "shows %s only their own entry",
    async (email) => {
      const result = await execute(server.url, AccessListDocument, {}, { token: token[email] });
      expect(result.data!.accessList.map((entry) => entry.user.email)).toEqual([email]);
    },
  );

  it("needs a token", async () => {
    const result = await execute(server.url, AccessListDocument, {});
    expect(codes(result)).toEqual(["UNAUTHENTICATED"]);
    expect(result.data).toBeUndefined();
  });
});

describe("grant, change and revoke by the Owner", () => {
  it("grants a role to an existing user, changes it and revokes it", async () => {
    const owner = token["owner@example.com"];
    const viewerId = id["viewer@example.com"]!;
    const granted = await execute(
      server.url,
      GrantWalletAccessDocument,
      { input: { userId: viewerId, walletId: DEMO_WALLETS.BTC, role: "ADMIN" } },
      { token: owner },
    );
    expect(granted.errors).toBeUndefined();
    expect(granted.data!.grantWalletAccess.grant).toEqual({ role: "ADMIN", wallet: { id: DEMO_WALLETS.BTC } });
    expect(granted.data!.grantWalletAccess.entry.grants.map((grant) => grant.wallet.id)).toEqual([
      DEMO_WALLETS.ETH,
      DEMO_WALLETS.BTC,
    ]);

    const changed = await execute(
      server.url,
      ChangeWalletRoleDocument,
      { input: { userId: viewerId, walletId: DEMO_WALLETS.BTC, role: "READ_ONLY" } },
      { token: owner },
    );
    expect(changed.data!.changeWalletRole.grant.role).toBe("READ_ONLY");

    const viewerMe = await execute(server.url, MeDocument, {}, { token: token["viewer@example.com"] });
    expect(viewerMe.data!.me.grants.map((grant) => [grant.wallet.id, grant.role])).toEqual([
      [DEMO_WALLETS.ETH, "READ_ONLY"],
      [DEMO_WALLETS.BTC, "READ_ONLY"],
    ]);

    const revoked = await execute(
      server.url,
      RevokeWalletAccessDocument,
      { input: { userId: viewerId, walletId: DEMO_WALLETS.BTC } },
      { token: owner },
    );
    expect(revoked.data!.revokeWalletAccess.wallet.id).toBe(DEMO_WALLETS.BTC);
    expect(revoked.data!.revokeWalletAccess.entry.grants.map((grant) => grant.wallet.id)).toEqual([DEMO_WALLETS.ETH]);
  });

  it("adds a new user by e-mail with READ_ONLY by default", async () => {
    const result = await execute(
      server.url,
      GrantWalletAccessDocument,
      { input: { email: "New.Analyst@Example.com", walletId: DEMO_WALLETS.USDT } },
      { token: token["owner@example.com"] },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.grantWalletAccess.entry.user).toMatchObject({ email: "new.analyst@example.com", kind: "HUMAN" });
    expect(result.data!.grantWalletAccess.grant.role).toBe("READ_ONLY");
    const list = await accessListAsOwner();
    expect(list.map((entry) => entry.user.email)).toContain("new.analyst@example.com");
  });
});

describe("refusals: each with its own code and message, and nothing changes", () => {
  const ETH = DEMO_WALLETS.ETH;
  const cases: {
    name: string;
    as: string | null;
    run: AccessMutation;
    input: (ids: Record<string, string>) => Record<string, unknown>;
    code: string;
    message: RegExp;
  }[] = [
    ...(["admin@example.com", "ops@example.com", "viewer@example.com", "other-reader@example.com"] as const).flatMap((as) => [
      { name: `grant as ${as}`, as, run: "grant" as const, input: (ids: Record<string, string>) => ({ userId: ids["viewer@example.com"], walletId: DEMO_WALLETS.BTC }), code: "FORBIDDEN", message: /Only the account Owner/ },
      { name: `change as ${as}`, as, run: "change" as const, input: (ids: Record<string, string>) => ({ userId: ids["viewer@example.com"], walletId: ETH, role: "ADMIN" }), code: "FORBIDDEN", message: /Only the account Owner/ },
      { name: `revoke as ${as}`, as, run: "revoke" as const, input: (ids: Record<string, string>) => ({ userId: ids["viewer@example.com"], walletId: ETH }), code: "FORBIDDEN", message: /Only the account Owner/ },
    ]),
    { name: "grant with no token", as: null, run: "grant", input: (ids) => ({ userId: ids["viewer@example.com"], walletId: ETH }), code: "UNAUTHENTICATED", message: /Authentication required/ },
    { name: "change with no token", as: null, run: "change", input: (ids) => ({ userId: ids["viewer@example.com"], walletId: ETH, role: "ADMIN" }), code: "UNAUTHENTICATED", message: /Authentication required/ },
    { name: "revoke with no token", as: null, run: "revoke", input: (ids) => ({ userId: ids["viewer@example.com"], walletId: ETH }), code: "UNAUTHENTICATED", message: /Authentication required/ },
    { name: "another account's Owner granting on our wallet", as: "other-owner@example.com", run: "grant", input: (ids) => ({ userId: ids["viewer@example.com"], walletId: ETH }), code: "NOT_FOUND", message: /Wallet 10001 was not found/ },
    { name: "another account's Owner changing our user", as: "other-owner@example.com", run: "change", input: (ids) => ({ userId: ids["viewer@example.com"], walletId: OTHER_WALLET, role: "ADMIN" }), code: "NOT_FOUND", message: /was not found in this account/ },
    { name: "another account's Owner revoking our user", as: "other-owner@example.com", run: "revoke", input: (ids) => ({ userId: ids["viewer@example.com"], walletId: ETH }), code: "NOT_FOUND", message: /Wallet 10001 was not found/ },
    { name: "granting OWNER", as: "owner@example.com", run: "grant", input: (ids) => ({ userId: ids["viewer@example.com"], walletId: DEMO_WALLETS.BTC, role: "OWNER" }), code: "BAD_USER_INPUT", message: /exactly one Owner/ },
    { name: "changing a role to OWNER", as: "owner@example.com", run: "change", input: (ids) => ({ userId: ids["viewer@example.com"], walletId: ETH, role: "OWNER" }), code: "BAD_USER_INPUT", message: /exactly one Owner/ },
    { name: "changing the Owner's own access", as: "owner@example.com", run: "change", input: (ids) => ({ userId: ids["owner@example.com"], walletId: ETH, role: "READ_ONLY" }), code: "BAD_USER_INPUT", message: /Owner's access cannot be changed/ },
    { name: "revoking the Owner's own access", as: "owner@example.com", run: "revoke", input: (ids) => ({ userId: ids["owner@example.com"], walletId: ETH }), code: "BAD_USER_INPUT", message: /Owner's access cannot be changed or revoked/ },
    { name: "granting the Owner a role", as: "owner@example.com", run: "grant", input: () => ({ email: "owner@example.com", walletId: ETH }), code: "BAD_USER_INPUT", message: /Owner's access cannot be changed/ },
    { name: "granting a role already held", as: "owner@example.com", run: "grant", input: (ids) => ({ userId: ids["viewer@example.com"], walletId: ETH }), code: "BAD_USER_INPUT", message: /already holds READ_ONLY/ },
    { name: "granting on an unknown wallet", as: "owner@example.com", run: "grant", input: (ids) => ({ userId: ids["viewer@example.com"], walletId: "424242" }), code: "NOT_FOUND", message: /Wallet 424242 was not found/ },
    { name: "granting on another account's wallet", as: "owner@example.com", run: "grant", input: (ids) => ({ userId: ids["viewer@example.com"], walletId: OTHER_WALLET }), code: "NOT_FOUND", message: /Wallet 20001 was not found/ },
    { name: "granting to another account's user", as: "owner@example.com", run: "grant", input: (ids) => ({ userId: ids["other-reader@example.com"], walletId: ETH }), code: "NOT_FOUND", message: /was not found in this account/ },
    { name: "granting to an unknown user", as: "owner@example.com", run: "grant", input: () => ({ userId: "00000000-0000-4000-8000-000000000000", walletId: ETH }), code: "NOT_FOUND", message: /was not found in this account/ },
    { name: "changing a role not held", as: "owner@example.com", run: "change", input: (ids) => ({ userId: ids["viewer@example.com"], walletId: DEMO_WALLETS.USDT, role: "ADMIN" }), code: "NOT_FOUND", message: /has no access to wallet 10003/ },
    { name: "revoking a role not held", as: "owner@example.com", run: "revoke", input: (ids) => ({ userId: ids["viewer@example.com"], walletId: DEMO_WALLETS.USDT }), code: "NOT_FOUND", message: /has no access to wallet 10003/ },
    { name: "a malformed user id", as: "owner@example.com", run: "revoke", input: () => ({ userId: "not-a-uuid", walletId: ETH }), code: "BAD_USER_INPUT", message: /userId must be a user id/ },
    { name: "a malformed wallet id", as: "owner@example.com", run: "revoke", input: (ids) => ({ userId: ids["viewer@example.com"], walletId: "../../etc" }), code: "BAD_USER_INPUT", message: /walletId must be/ },
    { name: "a huge wallet id", as: "owner@example.com", run: "grant", input: (ids) => ({ userId: ids["viewer@example.com"], walletId: "1".repeat(5000) }), code: "BAD_USER_INPUT", message: /walletId must be/ },
    { name: "both userId and email", as: "owner@example.com", run: "grant", input: (ids) => ({ userId: ids["viewer@example.com"], email: "a@example.com", walletId: ETH }), code: "BAD_USER_INPUT", message: /exactly one of userId and email/ },
    { name: "neither userId nor email", as: "owner@example.com", run: "grant", input: () => ({ walletId: ETH }), code: "BAD_USER_INPUT", message: /exactly one of userId and email/ },
    { name: "a malformed e-mail", as: "owner@example.com", run: "grant", input: () => ({ email: "not an email", walletId: ETH }), code: "BAD_USER_INPUT", message: /email must be an e-mail address/ },
    { name: "an unknown role", as: "owner@example.com", run: "change", input: (ids) => ({ userId: ids["viewer@example.com"], walletId: ETH, role: "SUPERUSER" }), code: "BAD_USER_INPUT", message: /SUPERUSER/ },
  ];

  let before: Awaited<ReturnType<typeof accessListAsOwner>>;
  beforeEach(async () => {
    before = await accessListAsOwner();
  });

  it.each(cases)("$name: $code", async ({ as, run, input, code, message }) => {
    const result = await accessMutation(server.url, run, input(id), as ? token[as] : undefined);
    expect(codes(result)).toEqual([code]);
    expect(result.errors![0]!.message).toMatch(message);
    expect(JSON.stringify(result.errors)).not.toMatch(/stack|at .*\.ts:/);
    expect(await accessListAsOwner()).toEqual(before);
  });
});
