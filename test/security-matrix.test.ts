import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiAccess } from "../src/credentials/api-access.entity.js";
import { CallbackSecret } from "../src/credentials/callback-secret.entity.js";
import {
  ApiAccessDocument,
  AuditLogDocument,
  CallbackSecretStatusDocument,
  RegenerateApiCredentialsDocument,
  RegenerateCallbackSecretDocument,
  SetApiIpWhitelistDocument,
  SetApiUserActiveDocument,
} from "./generated/graphql.js";
import { codes, execute } from "./support/graphql-client.js";
import { requestToken } from "./support/token-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

let server: TestServer;
const tokens: Record<string, string | undefined> = {};

type Role = "owner" | "admin" | "withdrawals" | "readOnly" | "apiUser" | "otherOwner" | "anonymous";
// The Owner goes last: its regenerateApiCredentials revokes the API user's token the other rows use.
const ROLES: Role[] = ["admin", "withdrawals", "readOnly", "apiUser", "otherOwner", "anonymous", "owner"];

const operations = {
  apiAccess: () => ({ document: ApiAccessDocument, variables: {} }),
  callbackSecretStatus: () => ({ document: CallbackSecretStatusDocument, variables: {} }),
  auditLog: () => ({ document: AuditLogDocument, variables: { first: 5 } }),
  setApiUserActive: () => ({
    document: SetApiUserActiveDocument,
    variables: { input: { active: true, confirmation: server.confirmation() } },
  }),
  setApiIpWhitelist: () => ({
    document: SetApiIpWhitelistDocument,
    variables: { input: { entries: ["127.0.0.1"], confirmation: server.confirmation() } },
  }),
  regenerateApiCredentials: () => ({
    document: RegenerateApiCredentialsDocument,
    variables: { input: { confirmation: server.confirmation() } },
  }),
  regenerateCallbackSecret: () => ({
    document: RegenerateCallbackSecretDocument,
    variables: { input: { confirmation: server.confirmation() } },
  }),
};
type Operation = keyof typeof operations;

/** What each role gets: "ok" for the Owner (of its own account), an error code for everyone else. */
const expected: Record<Role, string> = {
  owner: "ok",
  otherOwner: "ok",
  admin: "FORBIDDEN",
  withdrawals: "FORBIDDEN",
  readOnly: "FORBIDDEN",
  apiUser: "FORBIDDEN",
  anonymous: "UNAUTHENTICATED",
};

/** The demo account's API access and callback secrets as stored, to prove that a refusal changed nothing. */
async function demoState(): Promise<string> {
  const em = server.em();
  const demoAccountId = (await em.findOneOrFail(ApiAccess, { apiUser: { email: "api-user@api.invalid", account: { name: "Demo Merchant" } } })).account.id;
  const access = await em.findOneOrFail(ApiAccess, { account: demoAccountId });
  const secrets = await em.find(CallbackSecret, { account: demoAccountId }, { orderBy: { id: "asc" } });
  return JSON.stringify({ access, secrets });
}

beforeAll(async () => {
  // Every confirmed case moves the clock 30 s on: the API user's token must outlive them all.
  server = await startTestServer({ API_TOKEN_LIFETIME_SECONDS: "86400" });
  for (const [role, email] of [
    ["owner", "owner@example.com"],
    ["admin", "admin@example.com"],
    ["withdrawals", "ops@example.com"],
    ["readOnly", "viewer@example.com"],
    ["otherOwner", "other-owner@example.com"],
  ] as const) {
    tokens[role] = await server.token(email);
  }
  // Both accounts get an active API user; the demo one also credentials, for a real API-user token.
  for (const role of ["owner", "otherOwner"] as const) {
    await execute(server.url, SetApiUserActiveDocument, { input: { active: true, confirmation: server.confirmation() } }, { token: tokens[role] });
  }
  const { apiKey, apiSecret } = (
    await execute(server.url, RegenerateApiCredentialsDocument, { input: { confirmation: server.confirmation() } }, { token: tokens.owner })
  ).data!.regenerateApiCredentials;
  tokens.apiUser = (await requestToken(server.url, apiKey, apiSecret)).body.data.attributes.access;
});
afterAll(() => server?.close());

describe("role x operation: API access, secrets and the audit log", () => {
  const cases = ROLES.flatMap((role) => (Object.keys(operations) as Operation[]).map((operation) => ({ role, operation })));

  it.each(cases)("$role: $operation", async ({ role, operation }) => {
    const before = await demoState();
    const { document, variables } = operations[operation]();
    const result = await execute(server.url, document as typeof ApiAccessDocument, variables as never, { token: tokens[role] });
    if (expected[role] === "ok") {
      expect(result.errors).toBeUndefined();
      expect(result.data).not.toBeNull();
    } else {
      expect(codes(result)).toEqual([expected[role]]);
      expect(result.data ?? null).toBeNull();
    }
    if (role !== "owner") expect(await demoState()).toBe(before);
    if (operation === "setApiIpWhitelist" && role !== "owner" && role !== "otherOwner" && role !== "anonymous") {
      // The refusal is in the audit log, tied to the one who tried.
      const audit = await execute(server.url, AuditLogDocument, { first: 1 }, { token: tokens.owner });
      expect(audit.data!.auditLog.edges[0]!.node).toMatchObject({ action: "SET_API_IP_WHITELIST", outcome: "FORBIDDEN" });
    }
  });

  it("never shows one account's audit entries to another", async () => {
    const ours = await execute(server.url, AuditLogDocument, { first: 100 }, { token: tokens.owner });
    const theirs = await execute(server.url, AuditLogDocument, { first: 100 }, { token: tokens.otherOwner });
    const ourActors = new Set(ours.data!.auditLog.edges.map((edge) => edge.node.actor?.email));
    const theirActors = new Set(theirs.data!.auditLog.edges.map((edge) => edge.node.actor?.email));
    expect(theirActors).toEqual(new Set(["other-owner@example.com"]));
    expect(ourActors.has("other-owner@example.com")).toBe(false);
  });
});
