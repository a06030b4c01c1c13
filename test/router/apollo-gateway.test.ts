import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AccessListDocument,
  RegenerateApiCredentialsDocument,
  RegenerateCallbackSecretDocument,
  SetApiIpWhitelistDocument,
  SetApiUserActiveDocument,
  WalletsDocument,
} from "../generated/graphql.js";
import { startDepositsSubgraph } from "../../router/deposits-subgraph.js";
import { codes, execute, type GraphQLResult } from "../support/graphql-client.js";
import { compose, subgraphsOfSupergraphYaml } from "../../router/supergraph.js";
import { startApolloGateway } from "../support/gateway.js";
import { requestToken } from "../support/token-client.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

let server: TestServer;
let deposits: Awaited<ReturnType<typeof startDepositsSubgraph>>;
let gateway: Awaited<ReturnType<typeof startApolloGateway>>;
let composition: ReturnType<typeof compose>;

beforeAll(async () => {
  // The subgraph trusts the gateway (this machine) as a proxy, as it would trust the router.
  server = await startTestServer({ TRUSTED_PROXIES: "127.0.0.1, ::1" });
  deposits = await startDepositsSubgraph({ approverId: await server.userId("ops@example.com") });
  composition = compose(subgraphsOfSupergraphYaml({ access: `${server.url}/graphql`, deposits: deposits.url }));
  if (composition.errors) throw new Error(composition.errors.map((error) => error.message).join("\n"));
  gateway = await startApolloGateway(composition.supergraphSdl);
});
afterAll(async () => {
  await gateway?.stop();
  await deposits?.stop();
  await server?.close();
});

describe("the checked-in supergraph", () => {
  it("composes router/supergraph.yaml with zero errors and zero hints", () => {
    expect(composition.errors).toBeUndefined();
    expect((composition.hints ?? []).map((hint) => hint.toString())).toEqual([]);
  });
});

describe("through @apollo/gateway", () => {
  it("serves wallets and the access list", async () => {
    const owner = await server.token("owner@example.com");
    const wallets = await execute(gateway.url, WalletsDocument, {}, { token: owner });
    expect(wallets.data!.wallets.edges.map((edge) => edge.node.id)).toEqual(["10001", "10002", "10003"]);
    const viewer = await execute(gateway.url, WalletsDocument, {}, { token: await server.token("viewer@example.com") });
    expect(viewer.data!.wallets.edges.map((edge) => edge.node.id)).toEqual(["10001"]);
    const list = await execute(gateway.url, AccessListDocument, {}, { token: owner });
    expect(list.data!.accessList.map((entry) => entry.user.email)).toContain("ops@example.com");
  });

  it("resolves a query that crosses both subgraphs, in both directions", async () => {
    const owner = await server.token("owner@example.com");
    const ours = await execute(gateway.url, "{ wallets { edges { node { id label deposits { id amount } } } } }", {}, { token: owner });
    expect(ours.errors).toBeUndefined();
    expect((ours.data as { wallets: { edges: { node: { deposits: unknown[] } }[] } }).wallets.edges.map((edge) => edge.node.deposits.length)).toEqual([2, 1, 0]);

    const theirs = await execute(
      gateway.url,
      "{ recentDeposits { id wallet { id label currency { alpha } } approvedBy { email } } }",
      {},
      { token: await server.token("viewer@example.com") },
    );
    // The viewer may see the ETH wallet only, and only their own user.
    expect(theirs.data).toEqual({
      recentDeposits: [
        { id: "d-1", wallet: { id: "10001", label: "ETH main", currency: { alpha: "ETH" } }, approvedBy: null },
        { id: "d-2", wallet: null, approvedBy: null },
        { id: "d-3", wallet: { id: "10001", label: "ETH main", currency: { alpha: "ETH" } }, approvedBy: null },
      ],
    });
    const asOwner = await execute(gateway.url, "{ recentDeposits { id approvedBy { email } } }", {}, { token: owner });
    expect(asOwner.data).toMatchObject({ recentDeposits: [{ approvedBy: { email: "ops@example.com" } }, {}, {}] });
  });

  it("keeps error codes through the gateway", async () => {
    const anonymous = await execute(gateway.url, WalletsDocument, {});
    expect(codes(anonymous)).toContain("UNAUTHENTICATED");
    const forbidden = await execute(
      gateway.url,
      RegenerateCallbackSecretDocument,
      { input: { confirmation: server.confirmation() } },
      { token: await server.token("viewer@example.com") },
    );
    expect(codes(forbidden)).toEqual(["FORBIDDEN"]);
    const failed = await execute(
      gateway.url,
      RegenerateCallbackSecretDocument,
      { input: { confirmation: { password: "wrong", otp: "000000" } } },
      { token: await server.token("owner@example.com") },
    );
    expect(codes(failed)).toEqual(["CONFIRMATION_FAILED"]);
  });

  it("delivers a regenerated secret exactly once", async () => {
    const owner = await server.token("owner@example.com");
    const responses: GraphQLResult<unknown>[] = [];
    const regenerated = await execute(gateway.url, RegenerateCallbackSecretDocument, { input: { confirmation: server.confirmation() } }, { token: owner });
    const secret = regenerated.data!.regenerateCallbackSecret.callbackSecret;
    expect(secret).toMatch(/^acs_whsec_/);
    responses.push(await execute(gateway.url, "{ callbackSecretStatus { isSet createdAt } apiAccess { apiUserActive } }", {}, { token: owner }));
    responses.push(await execute(gateway.url, "{ auditLog(first: 50) { edges { node { action outcome detail } } } }", {}, { token: owner }));
    expect(JSON.stringify(regenerated).split(secret).length - 1).toBe(1);
    expect(JSON.stringify(responses)).not.toContain(secret);
    expect(server.logs.join("\n")).not.toContain(secret);
  });
});

describe("the client address through a gateway", () => {
  it("judges the API user by the address the gateway forwards only when the gateway is a trusted proxy", async () => {
    const untrusting = await startTestServer();
    const direct = await startApolloGateway(
      compose(subgraphsOfSupergraphYaml({ access: `${untrusting.url}/graphql`, deposits: deposits.url })).supergraphSdl!,
    );
    try {
      const tokens: string[] = [];
      for (const target of [server, untrusting]) {
        const owner = await target.token("owner@example.com");
        const confirmed = (document: unknown, input: Record<string, unknown>) =>
          execute(target.url, document as never, { input: { ...input, confirmation: target.confirmation() } } as never, { token: owner });
        await confirmed(SetApiUserActiveDocument, { active: true });
        await confirmed(SetApiIpWhitelistDocument, { entries: ["203.0.113.0/24"] });
        const { apiKey, apiSecret } = ((await confirmed(RegenerateApiCredentialsDocument, {})).data as {
          regenerateApiCredentials: { apiKey: string; apiSecret: string };
        }).regenerateApiCredentials;
        const issued = await requestToken(target.url, apiKey, apiSecret, { "x-forwarded-for": "203.0.113.7" });
        tokens.push(issued.body.data?.attributes.access ?? "");
        expect(issued.status).toBe(target === server ? 200 : 403);
      }
      // The client at 203.0.113.7 calls through the gateway: the trusting subgraph sees that address.
      const client = { "x-forwarded-for": "203.0.113.7" };
      const trusted = await execute(gateway.url, WalletsDocument, {}, { token: tokens[0], headers: client });
      expect(trusted.data!.wallets.edges).toHaveLength(3);
      const outside = await execute(gateway.url, WalletsDocument, {}, { token: tokens[0], headers: { "x-forwarded-for": "198.51.100.7" } });
      expect(codes(outside)).toContain("FORBIDDEN");

      // A subgraph that does not trust the gateway judges by the socket (the gateway's own address).
      const ownerToken = await untrusting.token("owner@example.com");
      await execute(untrusting.url, SetApiIpWhitelistDocument, { input: { entries: [], confirmation: untrusting.confirmation() } }, { token: ownerToken });
      const creds = (
        await execute(untrusting.url, RegenerateApiCredentialsDocument, { input: { confirmation: untrusting.confirmation() } }, { token: ownerToken })
      ).data!.regenerateApiCredentials;
      const apiToken = (await requestToken(untrusting.url, creds.apiKey, creds.apiSecret)).body.data.attributes.access;
      await execute(untrusting.url, SetApiIpWhitelistDocument, { input: { entries: ["203.0.113.0/24"], confirmation: untrusting.confirmation() } }, { token: ownerToken });
      const spoofed = await execute(direct.url, WalletsDocument, {}, { token: apiToken, headers: client });
      expect(codes(spoofed)).toContain("FORBIDDEN");
    } finally {
      await direct.stop();
      await untrusting.close();
    }
  });
});
