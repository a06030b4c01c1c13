import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_SIGNING_KEY_FILE } from "../src/auth/tokens.js";
import { loadOrCreateKeyFile } from "../src/credentials/key-file.js";
import { DEMO_WALLETS, OTHER_WALLET } from "./support/fixtures.js";
import { execute } from "./support/graphql-client.js";
import { endingErrors, subscribe, wsClient } from "./support/ws-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ GRAPHQL_MAX_DEPTH: "4" });
});
afterAll(() => server?.close());

type Caller = "owner" | "viewer" | "none" | "garbage" | "no-exp";

/** The bearer token each kind of caller sends. */
async function tokenOf(caller: Caller): Promise<string | undefined> {
  switch (caller) {
    case "owner":
      return server.token("owner@example.com");
    case "viewer":
      return server.token("viewer@example.com");
    case "none":
      return undefined;
    case "garbage":
      return "not-a-jwt";
    case "no-exp": {
      const key = loadOrCreateKeyFile(server.dataDir, DEV_SIGNING_KEY_FILE);
      return new SignJWT({})
        .setProtectedHeader({ alg: "HS256" })
        .setSubject(await server.userId("owner@example.com"))
        .setIssuer("access-subgraph")
        .setAudience("access-subgraph")
        .setIssuedAt()
        .sign(new Uint8Array(key));
    }
  }
}

const confirmation = { password: "wrong password", otp: "000000" };
const regenerate = (alias: string) => `${alias}: regenerateCallbackSecret(input: { confirmation: $c }) { callbackSecret }`;

/** Every rule and error mapping, as [case, caller, document, variables, the code both transports answer]. */
const CASES: [string, Caller, string, Record<string, unknown>, string][] = [
  ["no token", "none", "{ me { isOwner } }", {}, "UNAUTHENTICATED"],
  ["a token that is no JWT", "garbage", "{ me { isOwner } }", {}, "UNAUTHENTICATED"],
  ["a token without exp", "no-exp", "{ me { isOwner } }", {}, "UNAUTHENTICATED"],
  [
    "three security mutations aliased in one operation",
    "owner",
    `mutation($c: ConfirmationInput!) { ${regenerate("a")} ${regenerate("b")} ${regenerate("c")} }`,
    { c: confirmation },
    "BAD_USER_INPUT",
  ],
  ["a security mutation beside another field", "owner", `mutation($c: ConfirmationInput!) { ${regenerate("a")} __typename }`, { c: confirmation }, "BAD_USER_INPUT"],
  ["a wrong confirmation", "owner", `mutation($c: ConfirmationInput!) { ${regenerate("only")} }`, { c: confirmation }, "CONFIRMATION_FAILED"],
  ["more aliases than allowed", "owner", `{ ${Array.from({ length: 16 }, (_, index) => `a${index}: me { isOwner }`).join(" ")} }`, {}, "GRAPHQL_VALIDATION_FAILED"],
  ["a selection deeper than allowed", "owner", "{ wallets { edges { node { currency { alpha } } } } }", {}, "GRAPHQL_VALIDATION_FAILED"],
  ["a document past the token limit", "owner", `{ me { isOwner ${"@skip(if: false) ".repeat(3000)} } }`, {}, "GRAPHQL_PARSE_FAILED"],
  ["more directives than allowed", "owner", `{ me { ${"... @skip(if: false) { isOwner } ".repeat(51)} } }`, {}, "GRAPHQL_VALIDATION_FAILED"],
  ["a syntax error", "owner", "{ me { isOwner }", {}, "GRAPHQL_PARSE_FAILED"],
  ["an unknown field", "owner", "{ me { nope } }", {}, "GRAPHQL_VALIDATION_FAILED"],
  ["a variable of the wrong type", "owner", "query($first: Int) { wallets(first: $first) { edges { cursor } } }", { first: "many" }, "BAD_USER_INPUT"],
  ["a page size out of range", "owner", "{ wallets(first: 1000) { edges { cursor } } }", {}, "BAD_USER_INPUT"],
  ["the audit log as a viewer", "viewer", "{ auditLog { edges { cursor } } }", {}, "FORBIDDEN"],
  [
    "a grant by a user who is not the Owner",
    "viewer",
    `mutation { grantWalletAccess(input: { email: "x@example.com", walletId: "${DEMO_WALLETS.BTC}" }) { entry { isOwner } } }`,
    {},
    "FORBIDDEN",
  ],
  [
    "a role change on another account's wallet",
    "owner",
    `mutation($user: ID!) { changeWalletRole(input: { userId: $user, walletId: "${OTHER_WALLET}", role: ADMIN }) { entry { isOwner } } }`,
    { user: "00000000-0000-4000-8000-000000000000" },
    "NOT_FOUND",
  ],
  ["a subscription with a cursor this API never gave", "owner", 'subscription { callbackEvents(after: "bm90IGEgY3Vyc29y") { id } }', {}, "BAD_USER_INPUT"],
  [
    "a subscription with a filter past its size",
    "owner",
    `subscription { callbackEvents(filter: { walletIds: [${Array.from({ length: 51 }, () => `"${DEMO_WALLETS.ETH}"`).join(", ")}] }) { id } }`,
    {},
    "BAD_USER_INPUT",
  ],
];

describe("one set of rules and error codes on HTTP and graphql-ws", () => {
  it("answers every case with the same code on both transports, and every error carries a code", async () => {
    const seen: [string, string[], string[]][] = [];
    for (const [name, caller, query, variables] of CASES) {
      const token = await tokenOf(caller);
      const overHttp = query.startsWith("subscription")
        ? // Over HTTP a subscription runs only in a router's callback mode; its arguments are checked as over ws.
          null
        : await execute(server.url, query, variables, { token });
      const client = wsClient(server.url, token === undefined ? {} : { token });
      try {
        const overWs = await endingErrors(subscribe(client, query, variables));
        seen.push([name, (overHttp?.errors ?? []).map((error) => error.extensions?.code ?? "none"), overWs.map((error) => error.code ?? "none")]);
      } finally {
        await client.dispose();
      }
    }
    expect(seen).toEqual(
      CASES.map(([name, , query, , code]) => [name, query.startsWith("subscription") ? [] : [code], [code]]),
    );
  });
});
