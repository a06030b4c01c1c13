import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support/test-server.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

/** Posts a raw body to /graphql; answers the status and the errors' codes and messages. */
async function post(body: string, headers: Record<string, string> = { "content-type": "application/json" }) {
  const response = await fetch(`${server.url}/graphql`, { method: "POST", headers, body });
  const json = (await response.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
  return { status: response.status, errors: (json.errors ?? []).map((error) => ({ code: error.extensions?.code, message: error.message })) };
}

describe("requests refused before any operation carry a code", () => {
  it.each([
    ["a body that is not JSON", '{"query": ', 400, "BAD_REQUEST", /Malformed JSON body/],
    ["a batch", "[]", 400, "BAD_REQUEST", /batching/],
    ["a query that is not a string", '{"query": 5}', 400, "BAD_REQUEST", /strings/],
    ["no query", "{}", 400, "BAD_REQUEST", /POST body missing/],
    ["a persisted query whose hash does not match its text", JSON.stringify({ query: "{ __typename }", extensions: { persistedQuery: { version: 1, sha256Hash: "0".repeat(64) } } }), 400, "BAD_REQUEST", /sha does not match/],
    ["a persisted query by an unknown hash", JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: "1".repeat(64) } } }), 200, "PERSISTED_QUERY_NOT_FOUND", /PersistedQueryNotFound/],
  ])("%s", async (_name, body, status, code, message) => {
    const answer = await post(body);
    expect(answer.status).toBe(status);
    expect(answer.errors).toEqual([{ code, message: expect.stringMatching(message) }]);
  });

  it("two operations and no operation name", async () => {
    const answer = await post(JSON.stringify({ query: "query A { __typename } query B { __typename }" }), {
      "content-type": "application/json",
      authorization: `Bearer ${await server.token("owner@example.com")}`,
    });
    expect(answer.errors.map((error) => error.code)).toEqual(["OPERATION_RESOLUTION_FAILURE"]);
  });

  it("a form post without Apollo's CSRF header, and one with it", async () => {
    const refused = await post('{"query":"{ __typename }"}', { "content-type": "text/plain" });
    expect(refused.errors.map((error) => error.code)).toEqual(["BAD_REQUEST"]);
    const get = await fetch(`${server.url}/graphql?query=${encodeURIComponent("{ __typename }")}`, { headers: { "apollo-require-preflight": "true" } });
    expect(await get.json()).toEqual({ data: { __typename: "Query" } });
  });

  it("an unknown path, and the service still serves", async () => {
    const response = await fetch(`${server.url}/nowhere`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ errors: [{ message: "Not found", extensions: { code: "NOT_FOUND" } }] });
    expect((await post('{"query":"{ __typename }"}')).status).toBe(200);
  });
});
