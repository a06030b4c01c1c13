import "reflect-metadata";
import { createPubSub } from "@graphql-yoga/subscription";
import { buildSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { setMaxListeners } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import { parseCallback } from "../src/callbacks/callback-payload.js";
import { verifyCallbackSignature } from "../src/callbacks/callback-signature.js";

/**
 * The bare minimum the benchmarks compare against: parse and verify a callback (no storage), and push it to
 * graphql-ws subscribers of a trivial schema through an in-memory pub/sub. Prints its port on stdout.
 */
const secret = process.env.CALLBACK_SECRET ?? "";
// One listener per subscriber on one target: thousands, on purpose (0 lifts the leak warning's limit).
const eventTarget = new EventTarget();
setMaxListeners(0, eventTarget);
const pubsub = createPubSub<{ event: [Record<string, unknown>] }>({ eventTarget });
const schema = buildSchema(`
  type Query { ok: Boolean }
  type Event { cursor: String trackingId: String amount: String transferStatus: String signedAt: String }
  type Subscription { callbackEvents: Event }
`);
const roots = {
  subscription: {
    callbackEvents: () =>
      (async function* events() {
        for await (const event of pubsub.subscribe("event")) yield { callbackEvents: event };
      })(),
  },
};
let sequence = 0;

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/rss") {
    res.end(String(process.memoryUsage().rss));
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    try {
      const text = Buffer.concat(chunks).toString("utf8");
      const callback = parseCallback(JSON.parse(text), text);
      if (!verifyCallbackSignature([secret], callback.signedMessage, callback.sign)) {
        res.statusCode = 401;
        res.end();
        return;
      }
      sequence += 1;
      pubsub.publish("event", {
        cursor: String(sequence),
        trackingId: callback.trackingId,
        amount: callback.transfer?.amount ?? null,
        transferStatus: "CONFIRMED",
        signedAt: callback.signedAt,
      });
      res.statusCode = 200;
      res.end();
    } catch {
      res.statusCode = 400;
      res.end();
    }
  });
});
useServer({ schema, roots }, new WebSocketServer({ server, path: "/graphql" }));
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ msg: "baseline listening", port: (server.address() as AddressInfo).port })}\n`);
});
