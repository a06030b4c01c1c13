import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Account } from "../src/access/account.entity.js";
import { verifyingCallbackSecrets } from "../src/credentials/callback-secret.service.js";
import {
  AccessListDocument,
  ApiAccessDocument,
  AuditLogDocument,
  CallbackSecretStatusDocument,
  MeDocument,
  RegenerateApiCredentialsDocument,
  RegenerateCallbackSecretDocument,
  SetApiUserActiveDocument,
  WalletsDocument,
} from "./generated/graphql.js";
import { databaseText } from "./support/database-text.js";
import { codes, execute } from "./support/graphql-client.js";
import { requestToken } from "./support/token-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

let server: TestServer;
let owner: string;
let demoAccountId: string;

beforeAll(async () => {
  server = await startTestServer();
  owner = await server.token("owner@example.com");
  demoAccountId = (await server.em().findOneOrFail(Account, { name: "Demo Merchant" })).id;
});
afterAll(() => server?.close());

function regenerateCallbackSecret(previousSecretValidFor?: number) {
  return execute(
    server.url,
    RegenerateCallbackSecretDocument,
    { input: { confirmation: server.confirmation(), previousSecretValidFor } },
    { token: owner },
  );
}

const verifying = (at: number) => verifyingCallbackSecrets(server.em(), server.service.box, demoAccountId, new Date(at));

describe("callback secret", () => {
  it("is generated with a recognisable prefix and 256 bits, shown once with no-store", async () => {
    const before = await execute(server.url, CallbackSecretStatusDocument, {}, { token: owner });
    expect(before.data!.callbackSecretStatus).toEqual({ isSet: false, createdAt: null, previousSecretExpiresAt: null });
    const result = await regenerateCallbackSecret();
    expect(result.headers.get("cache-control")).toBe("no-store");
    const { callbackSecret, callbackSecretStatus } = result.data!.regenerateCallbackSecret;
    expect(callbackSecret).toMatch(/^acs_whsec_[A-Za-z0-9_-]{43}$/);
    expect(callbackSecretStatus).toMatchObject({ isSet: true, previousSecretExpiresAt: null });
    expect(await verifying(server.clock.now())).toEqual([callbackSecret]);
  });

  it("by default the previous secret dies at once", async () => {
    const { callbackSecret } = (await regenerateCallbackSecret()).data!.regenerateCallbackSecret;
    expect(await verifying(server.clock.now())).toEqual([callbackSecret]);
  });

  it("previousSecretValidFor keeps the previous secret verifying until then, and not one second longer", async () => {
    const old = await verifying(server.clock.now());
    const before = server.clock.now();
    const result = await regenerateCallbackSecret(3600);
    const after = server.clock.now();
    const { callbackSecret, callbackSecretStatus } = result.data!.regenerateCallbackSecret;
    // The time of the regeneration, as the service's clock gave it, lies between the test's readings (the
    // confirmation moved the clock 30 s on before the request).
    const expiresAt = Date.parse(callbackSecretStatus.previousSecretExpiresAt!);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 30_000 + 3_600_000);
    expect(expiresAt).toBeLessThanOrEqual(after + 3_600_000);
    expect(await verifying(expiresAt - 1000)).toEqual([callbackSecret, ...old]);
    expect(await verifying(expiresAt + 1000)).toEqual([callbackSecret]);
    const status = await execute(server.url, CallbackSecretStatusDocument, {}, { token: owner });
    expect(status.data!.callbackSecretStatus.previousSecretExpiresAt).toBe(callbackSecretStatus.previousSecretExpiresAt);
  });

  it.each([-1, 604_801, 2 ** 31 - 1])("refuses previousSecretValidFor = %i", async (value) => {
    const result = await regenerateCallbackSecret(value);
    expect(codes(result)).toEqual(["BAD_USER_INPUT"]);
    expect(result.errors![0]!.message).toMatch(/between 0 and 604800 seconds/);
  });

  it("accepts the 7-day maximum", async () => {
    expect((await regenerateCallbackSecret(604_800)).errors).toBeUndefined();
  });
});

describe("audit log", () => {
  it("records who, what, when, from where and how it ended, newest first, in pages", async () => {
    await execute(server.url, SetApiUserActiveDocument, { input: { active: true, confirmation: server.confirmation() } }, { token: owner });
    await execute(
      server.url,
      SetApiUserActiveDocument,
      { input: { active: false, confirmation: { password: "wrong", otp: "123456" } } },
      { token: owner },
    );
    const { apiKey, apiSecret } = (
      await execute(server.url, RegenerateApiCredentialsDocument, { input: { confirmation: server.confirmation() } }, { token: owner })
    ).data!.regenerateApiCredentials;
    await requestToken(server.url, apiKey, "wrong secret");
    await requestToken(server.url, apiKey, apiSecret);

    const firstPage = await execute(server.url, AuditLogDocument, { first: 3 }, { token: owner });
    const rows = firstPage.data!.auditLog.edges.map((edge) => edge.node);
    expect(rows.map((row) => [row.action, row.outcome, row.actor?.kind])).toEqual([
      ["ISSUE_API_TOKEN", "SUCCESS", "API"],
      ["ISSUE_API_TOKEN", "INVALID_CREDENTIALS", "API"],
      ["REGENERATE_API_CREDENTIALS", "SUCCESS", "HUMAN"],
    ]);
    expect(rows.every((row) => row.clientAddress === "127.0.0.1")).toBe(true);
    expect(rows.every((row) => Math.abs(Date.parse(row.createdAt) - Date.now()) < 60_000)).toBe(true);

    const secondPage = await execute(
      server.url,
      AuditLogDocument,
      { first: 2, after: firstPage.data!.auditLog.pageInfo.endCursor },
      { token: owner },
    );
    expect(secondPage.data!.auditLog.edges.map((edge) => [edge.node.action, edge.node.outcome, edge.node.actor?.email])).toEqual([
      ["SET_API_USER_ACTIVE", "CONFIRMATION_FAILED", "owner@example.com"],
      ["SET_API_USER_ACTIVE", "SUCCESS", "owner@example.com"],
    ]);
  });
});

describe("reveal once", () => {
  it("shows each secret in its one mutation response and nowhere else: not in logs, the database or other responses", async () => {
    const responses: string[] = [];
    const record = async <T extends { status: number }>(call: Promise<T>) => {
      const result = await call;
      responses.push(JSON.stringify(result));
      return result;
    };

    await record(execute(server.url, SetApiUserActiveDocument, { input: { active: true, confirmation: server.confirmation() } }, { token: owner }));
    const credentialsResponse = await execute(
      server.url,
      RegenerateApiCredentialsDocument,
      { input: { confirmation: server.confirmation() } },
      { token: owner },
    );
    const callbackResponse = await execute(
      server.url,
      RegenerateCallbackSecretDocument,
      { input: { confirmation: server.confirmation(), previousSecretValidFor: 600 } },
      { token: owner },
    );
    const { apiKey, apiSecret } = credentialsResponse.data!.regenerateApiCredentials;
    const { callbackSecret } = callbackResponse.data!.regenerateCallbackSecret;
    const secrets = { apiSecret, callbackSecret };

    // Everything else a client could ask for afterwards.
    const token = (await record(requestToken(server.url, apiKey, apiSecret))).body.data.attributes.access as string;
    await record(requestToken(server.url, apiKey, `${apiSecret}x`));
    await record(execute(server.url, WalletsDocument, {}, { token }));
    await record(execute(server.url, MeDocument, {}, { token }));
    for (const document of [ApiAccessDocument, CallbackSecretStatusDocument, AccessListDocument, MeDocument]) {
      await record(execute(server.url, document as typeof ApiAccessDocument, {}, { token: owner }));
    }
    await record(execute(server.url, AuditLogDocument, { first: 100 }, { token: owner }));
    await record(
      execute(
        server.url,
        RegenerateCallbackSecretDocument,
        { input: { confirmation: { password: "wrong", otp: "000000" } } },
        { token: owner },
      ),
    );
    // A later regeneration answers with new secrets only.
    await record(execute(server.url, RegenerateApiCredentialsDocument, { input: { confirmation: server.confirmation() } }, { token: owner }));
    await record(execute(server.url, RegenerateCallbackSecretDocument, { input: { confirmation: server.confirmation() } }, { token: owner }));
    const metrics = await fetch(`${server.url}/metrics`);
    responses.push(await metrics.text());

    const occurrences = (haystack: string, needle: string) => haystack.split(needle).length - 1;
    for (const [name, secret] of Object.entries(secrets)) {
      expect(occurrences(JSON.stringify(credentialsResponse) + JSON.stringify(callbackResponse), secret), name).toBe(1);
      expect(occurrences(responses.join("\n"), secret), `${name} in other responses`).toBe(0);
      expect(occurrences(server.logs.join("\n"), secret), `${name} in logs`).toBe(0);
      expect(occurrences(await databaseText(server), secret), `${name} in the database`).toBe(0);
    }
    expect(server.logs.length).toBeGreaterThan(0);
  });
});
