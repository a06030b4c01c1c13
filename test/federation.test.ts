import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEPOSITS_SDL, startDepositsSubgraph } from "./fixtures/deposits-subgraph.js";
import { codes, execute } from "./support/graphql-client.js";
import { compose, startApolloGateway } from "./support/gateway.js";
import { startTestServer, type TestServer } from "./support/test-server.js";
import { ServiceSdlDocument } from "./generated/graphql.js";

let server: TestServer;
let deposits: Awaited<ReturnType<typeof startDepositsSubgraph>>;
let gateway: Awaited<ReturnType<typeof startApolloGateway>>;
let composition: ReturnType<typeof compose>;

beforeAll(async () => {
  server = await startTestServer();
  deposits = await startDepositsSubgraph();
  const accessSdl = (await execute(server.url, ServiceSdlDocument, {})).data!._service.sdl!;
  composition = compose([
    { name: "access", url: `${server.url}/graphql`, sdl: accessSdl },
    { name: "deposits", url: deposits.url, sdl: DEPOSITS_SDL },
  ]);
  if (composition.errors) throw new Error(composition.errors.map((error) => error.message).join("\n"));
  gateway = await startApolloGateway(composition.supergraphSdl);
});
afterAll(async () => {
  await gateway?.stop();
  await deposits?.stop();
  await server?.close();
});

describe("federation", () => {
  it("composes with another subgraph with zero errors", () => {
    expect(composition.errors).toBeUndefined();
    expect(composition.supergraphSdl).toContain("type Wallet");
  });

  it("resolves a query that crosses both subgraphs: our wallets with their deposits", async () => {
    const result = await execute(
      gateway.url,
      "{ wallets { edges { node { id label deposits { id amount } } } } }",
      {},
      { token: await server.token("owner@example.com") },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      wallets: {
        edges: [
          { node: { id: "10001", label: "ETH main", deposits: [{ id: "d-1", amount: "0.300000000000000000" }, { id: "d-3", amount: "1.250000000000000000" }] } },
          { node: { id: "10002", label: "BTC settlements", deposits: [{ id: "d-2", amount: "0.01500000" }] } },
          { node: { id: "10003", label: "USDT payouts", deposits: [] } },
        ],
      },
    });
  });

  it("resolves our Wallet entities for the other subgraph, only those the viewer may see", async () => {
    const result = await execute(
      gateway.url,
      "{ recentDeposits { id wallet { id label currency { alpha } } } }",
      {},
      { token: await server.token("viewer@example.com") },
    );
    expect(result.data).toEqual({
      recentDeposits: [
        { id: "d-1", wallet: { id: "10001", label: "ETH main", currency: { alpha: "ETH" } } },
        { id: "d-2", wallet: null },
        { id: "d-3", wallet: { id: "10001", label: "ETH main", currency: { alpha: "ETH" } } },
      ],
    });
  });

  it("keeps the error code through the gateway", async () => {
    const result = await execute(gateway.url, "{ wallets { edges { node { id } } } }", {});
    expect(codes(result)).toContain("UNAUTHENTICATED");
    expect((result.data as { wallets?: unknown } | null | undefined)?.wallets ?? null).toBeNull();
  });
});
