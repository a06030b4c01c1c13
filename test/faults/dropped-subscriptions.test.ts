import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { print } from "graphql";
import { OnCallbackEventDocument } from "../generated/graphql.js";
import { depositCallback, headCursor, postCallback, regenerateCallbackSecret } from "../support/callbacks.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

let server: TestServer;
let secret: string;

beforeAll(async () => {
  // 100 subscribers of one user, from one address, each cut and reconnected once.
  server = await startTestServer({ LOG_LEVEL: "warn", WS_MAX_SOCKETS_PER_ADDRESS: "250", WS_MAX_SOCKETS_PER_USER: "250" });
  secret = await regenerateCallbackSecret(server);
});
afterAll(() => server?.close());

/** A raw graphql-ws subscriber that can be cut off abruptly (no close handshake), as a network failure does. */
function rawSubscriber(token: string, after: string, onEvent: (event: { id: string; cursor: string }) => void) {
  const socket = new WebSocket(server.url.replace(/^http/, "ws") + "/graphql", "graphql-transport-ws");
  socket.on("message", (data) => {
    const message = JSON.parse(String(data));
    if (message.type === "connection_ack") {
      socket.send(
        JSON.stringify({ id: "1", type: "subscribe", payload: { query: print(OnCallbackEventDocument), variables: { after } } }),
      );
    }
    if (message.type === "next") onEvent(message.payload.data.callbackEvents);
  });
  socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: { token } })));
  socket.on("error", () => {});
  return socket;
}

describe("subscriptions cut mid-stream", () => {
  it("100 subscriptions cut mid-stream and resumed from their last cursor: 0 lost, 0 doubled", async () => {
    const token = await server.token("owner@example.com");
    const start = await headCursor(server, secret);
    const total = 60;
    const subscribers = Array.from({ length: 100 }, () => ({ events: [] as { id: string; cursor: string }[], socket: null as WebSocket | null }));
    for (const subscriber of subscribers) {
      subscriber.socket = rawSubscriber(token, start, (event) => subscriber.events.push(event));
    }

    const sent: string[] = [];
    const stream = (async () => {
      for (let index = 0; index < total; index++) {
        const answer = await postCallback(server.url, depositCallback(secret, { trackingId: `r4-${index}` }));
        expect(answer.status).toBe(200);
        sent.push(`r4-${index}`);
      }
    })();

    // Cut every subscription once, each at its own point of the stream, then resume it from its last cursor.
    await Promise.all(
      subscribers.map(async (subscriber, index) => {
        const cutAfter = 1 + (index % (total - 10));
        const deadline = Date.now() + 30_000;
        while (subscriber.events.length < cutAfter && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
        subscriber.socket!.terminate();
        const resumeFrom = subscriber.events.at(-1)?.cursor ?? start;
        subscriber.socket = rawSubscriber(token, resumeFrom, (event) => subscriber.events.push(event));
      }),
    );
    await stream;

    const deadline = Date.now() + 30_000;
    while (subscribers.some((subscriber) => subscriber.events.length < total) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const rows: { id: string }[] = await server
      .em()
      .getConnection()
      .execute("select id from callback_event order by sequence desc limit ?", [total]);
    const expected = rows.map((row) => row.id).reverse();
    for (const subscriber of subscribers) {
      subscriber.socket!.terminate();
      expect(subscriber.events.map((event) => event.id)).toEqual(expected);
    }
    expect(sent).toHaveLength(total);
  }, 120_000);
});
