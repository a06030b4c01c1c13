import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EntitiesDocument, ServiceSdlDocument } from "./generated/graphql.js";
import { DEMO_WALLETS, OTHER_WALLET } from "./support/fixtures.js";
import { codes, execute } from "./support/graphql-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

/** db_statements_total as the /metrics endpoint reports it. */
async function statementsSoFar(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const match = /^db_statements_total (\d+)/m.exec(text);
  expect(match).not.toBeNull();
  return Number(match![1]);
}

async function countStatements(run: () => Promise<unknown>): Promise<number> {
  const before = await statementsSoFar();
  await run();
  return (await statementsSoFar()) - before;
}

const wallet = (id: string) => ({ __typename: "Wallet", id });
const user = (id: string) => ({ __typename: "User", id });

describe("_entities", () => {
  it("resolves the wallets the viewer may see and null for the rest", async () => {
    const result = await execute(
      server.url,
      EntitiesDocument,
      {
        representations: [
          wallet(DEMO_WALLETS.ETH),
          wallet(DEMO_WALLETS.BTC),
          wallet(OTHER_WALLET),
          wallet("999999"),
          wallet("not a wallet id!"),
          { __typename: "Wallet", id: 42 },
        ],
      },
      { token: await server.token("viewer@example.com") },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!._entities).toEqual([
      { __typename: "Wallet", id: DEMO_WALLETS.ETH, label: "ETH main", currency: { alpha: "ETH" } },
      null,
      null,
      null,
      null,
      null,
    ]);
  });

  it("resolves users: the Owner sees the account's users, anyone else only themselves", async () => {
    const ids = {
      owner: await server.userId("owner@example.com"),
      ops: await server.userId("ops@example.com"),
      other: await server.userId("other-owner@example.com"),
    };
    const representations = [user(ids.owner), user(ids.ops), user(ids.other), user("nope")];
    const asOwner = await execute(server.url, EntitiesDocument, { representations }, { token: await server.token("owner@example.com") });
    expect(asOwner.data!._entities.map((entity) => (entity && "email" in entity ? entity.email : null))).toEqual([
      "owner@example.com",
      "ops@example.com",
      null,
      null,
    ]);
    const asOps = await execute(server.url, EntitiesDocument, { representations }, { token: await server.token("ops@example.com") });
    expect(asOps.data!._entities.map((entity) => (entity && "email" in entity ? entity.email : null))).toEqual([
      null,
      "ops@example.com",
      null,
      null,
    ]);
  });

  it("needs a token", async () => {
    const result = await execute(server.url, EntitiesDocument, { representations: [wallet(DEMO_WALLETS.ETH)] });
    expect(result.status).toBe(401);
    expect(codes(result)).toEqual(["UNAUTHENTICATED"]);
    expect(result.data).toBeUndefined();
  });

  it("uses one SQL statement per entity type, whatever the number of representations", async () => {
    const token = await server.token("owner@example.com");
    const ownerId = await server.userId("owner@example.com");
    const send = (representations: object[]) => () => execute(server.url, EntitiesDocument, { representations }, { token });
    const many = Array.from({ length: 500 }, (_, i) => wallet(i % 2 ? DEMO_WALLETS.BTC : `9${i}`));
    const manyUsers = Array.from({ length: 300 }, (_, i) => user(i % 3 ? ownerId : `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`));

    // One statement authenticates the caller; the rest is one per entity type.
    expect(await countStatements(send([wallet(DEMO_WALLETS.ETH)]))).toBe(1 + 1);
    expect(await countStatements(send(many))).toBe(1 + 1);
    expect(await countStatements(send([...many, ...manyUsers]))).toBe(1 + 2);
  });
});

describe("_service", () => {
  it("serves the subgraph SDL with the federation link and the entity keys", async () => {
    const result = await execute(server.url, ServiceSdlDocument, {});
    const sdl = result.data!._service.sdl!;
    expect(sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.7"');
    expect(sdl).toMatch(/type Wallet\s+@key\(fields: "id"\)/);
    expect(sdl).toMatch(/type User\s+@key\(fields: "id"\)/);
  });
});
