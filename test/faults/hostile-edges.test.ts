import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { getIntrospectionQuery, parse, specifiedRules, validate } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { loadConfig } from "../../src/config.js";
import { SECURITY_MUTATIONS } from "../../src/credentials/credentials.resolver.js";
import { operationRules } from "../../src/graphql/operation-rules.js";
import { buildFederatedSchema } from "../../src/graphql/schema.js";
import { OnCallbackEventDocument } from "../generated/graphql.js";
import { startBuiltServer, type BuiltServer } from "../support/built-server.js";
import { createTestDatabase } from "../support/database.js";
import { codes, execute } from "../support/graphql-client.js";
import { endingErrors, subscribe, wsClient } from "../support/ws-client.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const MiB = 2 ** 20;
const wsUrl = (url: string) => url.replace(/^http/, "ws") + "/graphql";

/** A raw graphql-ws socket; resolves once open, or rejects with the HTTP status the upgrade got. */
function rawSocket(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl(url), "graphql-transport-ws", { headers });
    socket.once("open", () => resolve(socket));
    socket.once("unexpected-response", (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    socket.once("error", reject);
  });
}

const closeCode = (socket: WebSocket) =>
  new Promise<number>((resolve) => (socket.readyState === WebSocket.CLOSED ? resolve(-1) : socket.once("close", (code) => resolve(code))));

describe("WebSocket frames are bounded before authentication (the built server)", () => {
  let built: BuiltServer;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "access-frames-"));
    database = await createTestDatabase();
    built = await startBuiltServer({
      PORT: "0",
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      LOG_LEVEL: "info",
      ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
    });
  });
  afterAll(async () => {
    await built?.stop();
    await database?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("four 95 MiB frames before connection_init: each socket closed with 1009, the server's memory grows by less than 32 MiB", async () => {
    // Warm the server up first, so that its first sockets' own allocations do not count.
    for (let index = 0; index < 4; index++) (await rawSocket(built.url)).terminate();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = built.rssBytes();
    const frame = Buffer.alloc(95 * MiB, 0x7b);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, built.rssBytes())), 20);
    try {
      const closes = await Promise.all(
        Array.from({ length: 4 }, async () => {
          const socket = await rawSocket(built.url);
          socket.on("error", () => {});
          const closed = closeCode(socket);
          socket.send(frame);
          return closed;
        }),
      );
      expect(closes).toEqual([1009, 1009, 1009, 1009]);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, built.rssBytes());
    expect(peak - before).toBeLessThan(32 * MiB);
    expect((await fetch(`${built.url}/healthz`)).status).toBe(200);
  }, 60_000);
});

describe("sockets per client address, and the connection_init deadline", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(
      { WS_MAX_SOCKETS_PER_ADDRESS: "3", WS_MAX_SOCKETS_PER_PROXY: "5", WS_CONNECTION_INIT_TIMEOUT_MS: "300", TRUSTED_PROXIES: "127.0.0.1" },
      { testAccounts: false },
    );
  });
  afterAll(() => server?.close());

  it("refuses the upgrade past the cap with 429, before any WebSocket exists, and accepts again once one closed", async () => {
    // Through the trusted router: each client address named in X-Forwarded-For has the per-address cap.
    const client = { "x-forwarded-for": "203.0.113.7" };
    const sockets = await Promise.all([1, 2, 3].map(() => rawSocket(server.url, client)));
    await expect(rawSocket(server.url, client)).rejects.toThrow("HTTP 429");
    // Another client behind the same router is not affected.
    const other = await rawSocket(server.url, { "x-forwarded-for": "203.0.113.8" });
    sockets[0]!.terminate();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const again = await rawSocket(server.url, client);
    for (const socket of [...sockets, other, again]) socket.terminate();
  });

  it("gives the trusted router's own sockets (no client named) a cap of their own", async () => {
    const sockets = await Promise.all([1, 2, 3, 4, 5].map(() => rawSocket(server.url)));
    await expect(rawSocket(server.url)).rejects.toThrow("HTTP 429");
    for (const socket of sockets) socket.terminate();
  });

  it("closes a socket that sends no connection_init in time with 4408, and refuses other paths", async () => {
    const silent = await rawSocket(server.url);
    expect(await closeCode(silent)).toBe(4408);
    await expect(
      new Promise((resolve, reject) => {
        const socket = new WebSocket(server.url.replace(/^http/, "ws") + "/elsewhere", "graphql-transport-ws");
        socket.once("open", resolve);
        socket.once("unexpected-response", (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
      }),
    ).rejects.toThrow("HTTP 404");
  });
});

describe("documents are bounded before they are parsed in full, on both transports", () => {
  let server: TestServer;
  const bomb = `{ me { isOwner ${"@include(if: true) ".repeat(25_000)} } }`;
  const manyDirectives = `{ me { ${"... @include(if: true) { isOwner } ".repeat(60)} } }`;
  beforeAll(async () => {
    server = await startTestServer({}, { testAccounts: false });
  });
  afterAll(() => server?.close());

  it.each([
    ["a 25,000-directive document (past the token limit)", "GRAPHQL_PARSE_FAILED", bomb],
    ["60 directives in one operation (past the directive limit)", "GRAPHQL_VALIDATION_FAILED", manyDirectives],
  ])("refuses %s with %s over HTTP and over graphql-ws", async (_name, code, query) => {
    const token = await server.token("owner@example.com");
    const overHttp = await execute(server.url, query, {}, { token });
    expect(overHttp.status).toBe(400);
    expect(codes(overHttp)).toEqual([code]);

    const client = wsClient(server.url, { token });
    try {
      expect((await endingErrors(subscribe(client, query))).map((error) => error.code)).toEqual([code]);
    } finally {
      await client.dispose();
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it("still answers introspection, the gateway's _service query and _entities with 1,000 representations", async () => {
    const token = await server.token("owner@example.com");
    const introspection = await execute(server.url, getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true }), {}, {});
    expect(introspection.errors).toBeUndefined();
    const sdl = await execute(server.url, "{ _service { sdl } }", {}, {});
    expect(sdl.errors).toBeUndefined();
    const representations = Array.from({ length: 1000 }, (_, index) => ({ __typename: "Wallet", id: String(10_001 + index) }));
    const entities = await execute<{ _entities: ({ id: string } | null)[] }, unknown>(
      server.url,
      "query($r: [_Any!]!) { _entities(representations: $r) { ... on Wallet { id label } } }",
      { r: representations },
      { token },
    );
    expect(entities.errors).toBeUndefined();
    expect(entities.data!._entities.filter(Boolean).map((wallet) => wallet!.id)).toEqual(["10001", "10002", "10003"]);
  });

  it("passes every operation under test/operations with the default limits", async () => {
    const rules = operationRules(loadConfig({}), SECURITY_MUTATIONS);
    const schema = await buildFederatedSchema();
    const folder = path.resolve(import.meta.dirname, "../operations");
    const files = fs.readdirSync(folder).filter((file) => file.endsWith(".graphql"));
    let operations = 0;
    for (const file of files) {
      const document = parse(fs.readFileSync(path.join(folder, file), "utf8"), rules.parseOptions);
      operations += document.definitions.filter((definition) => definition.kind === "OperationDefinition").length;
      expect([file, validate(schema, document, [...specifiedRules, ...rules.validationRules]).map((error) => error.message)]).toEqual([file, []]);
    }
    expect(operations).toBeGreaterThan(10);
  });
});

describe("what one user may hold open", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ WS_MAX_OPERATIONS_PER_SOCKET: "3", WS_MAX_SOCKETS_PER_USER: "2", WS_CONNECTION_INIT_TIMEOUT_MS: "500" }, { testAccounts: false });
  });
  afterAll(() => server?.close());

  it("answers a subscribe past the operations of one socket with LIMIT_EXCEEDED, and the others go on", async () => {
    const client = wsClient(server.url, { token: await server.token("owner@example.com") });
    try {
      const running = [1, 2, 3].map(() => subscribe(client, OnCallbackEventDocument));
      const refused = subscribe(client, OnCallbackEventDocument);
      expect(await endingErrors(refused)).toEqual([
        { message: "At most 3 operations run at once on one socket", code: "LIMIT_EXCEEDED" },
      ]);
      expect(running.map((subscription) => subscription.queued())).toEqual([0, 0, 0]);
      running[0]!.dispose();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const fourth = subscribe(client, OnCallbackEventDocument);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(fourth.queued()).toBe(0);
      expect(await Promise.race([fourth.ended, Promise.resolve("running")])).toBe("running");
    } finally {
      await client.dispose();
    }
  });

  it("answers every subscribe on a user's socket past their socket limit with LIMIT_EXCEEDED, then closes it (1008); other users are not affected", async () => {
    const token = await server.token("owner@example.com");
    const held = [wsClient(server.url, { token }), wsClient(server.url, { token })];
    const live = held.map((client) => subscribe(client, OnCallbackEventDocument));
    // Acknowledged: each holds its place before the third one asks.
    await Promise.all(held.map((client) => client.connected));
    const third = wsClient(server.url, { token });
    const viewer = wsClient(server.url, { token: await server.token("viewer@example.com") });
    try {
      expect((await endingErrors(subscribe(third, OnCallbackEventDocument))).map((error) => error.code)).toEqual(["LIMIT_EXCEEDED"]);
      expect((await third.closed).code).toBe(1008);
      const viewing = subscribe(viewer, OnCallbackEventDocument);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await Promise.race([viewing.ended, Promise.resolve("running")])).toBe("running");
      expect(live.map((subscription) => subscription.queued())).toEqual([0, 0]);
      // A socket closed frees its place.
      await held[0]!.dispose();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const replacement = wsClient(server.url, { token });
      held.push(replacement);
      const replaced = subscribe(replacement, OnCallbackEventDocument);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await Promise.race([replaced.ended, Promise.resolve("running")])).toBe("running");
    } finally {
      for (const client of [...held, third, viewer]) await client.dispose();
    }
  });
});
