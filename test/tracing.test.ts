import { print } from "graphql";
import type { Client, FormattedExecutionResult } from "graphql-ws";
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CallbackEvent } from "../src/events/event.entity.js";
import { MeDocument, OnCallbackEventDocument, type OnCallbackEventSubscription } from "./generated/graphql.js";
import { depositCallback, headCursor, postCallback, regenerateCallbackSecret } from "./support/callbacks.js";
import { onPostgres } from "./support/database.js";
import { DEMO_WALLETS } from "./support/fixtures.js";
import { execute } from "./support/graphql-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";
import { wsClient } from "./support/ws-client.js";

/** A span as an OTLP/HTTP JSON export carries it, its attributes and its resource's flattened to plain values. */
interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  status: { code?: number; message?: string };
  links: { traceId: string; spanId: string }[];
  resource: Record<string, unknown>;
}

/** OTLP span kinds and status codes (the JSON encoding numbers them). */
const SERVER = 2;
const CONSUMER = 5;
const STATUS_ERROR = 2;

type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type OtlpAttributes = { key: string; value: OtlpValue }[] | undefined;

function plain(attributes: OtlpAttributes): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const { key, value } of attributes ?? []) {
    values[key] = value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : (value.boolValue ?? value.doubleValue));
  }
  return values;
}

/**
 * A collector of its own: an HTTP server on port 0 that takes OTLP/HTTP JSON on `/v1/traces` (gzip or not), keeps
 * every span, and wakes the waiters of a span that matches.
 */
async function startReceiver() {
  const spans: ExportedSpan[] = [];
  const waiters: { match: (span: ExportedSpan) => boolean; resolve: (span: ExportedSpan) => void }[] = [];
  let requests = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      requests++;
      if (req.method !== "POST" || req.url !== "/v1/traces" || !String(req.headers["content-type"]).startsWith("application/json")) {
        res.writeHead(400).end();
        return;
      }
      const raw = Buffer.concat(chunks);
      const body = JSON.parse((req.headers["content-encoding"] === "gzip" ? zlib.gunzipSync(raw) : raw).toString("utf8")) as {
        resourceSpans: {
          resource: { attributes: OtlpAttributes };
          scopeSpans: {
            spans: (Omit<ExportedSpan, "attributes" | "links" | "resource"> & {
              attributes: OtlpAttributes;
              links?: { traceId: string; spanId: string }[];
            })[];
          }[];
        }[];
      };
      for (const resourceSpans of body.resourceSpans) {
        const resource = plain(resourceSpans.resource.attributes);
        for (const scope of resourceSpans.scopeSpans) {
          for (const span of scope.spans) {
            const exported: ExportedSpan = {
              ...span,
              parentSpanId: span.parentSpanId ?? "",
              status: span.status ?? {},
              attributes: plain(span.attributes),
              links: (span.links ?? []).map(({ traceId, spanId }) => ({ traceId, spanId })),
              resource,
            };
            spans.push(exported);
            for (const waiter of waiters.filter((candidate) => candidate.match(exported))) {
              waiters.splice(waiters.indexOf(waiter), 1);
              waiter.resolve(exported);
            }
          }
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    requests: () => requests,
    /** The first span that matches, received already or within `timeoutMs`. */
    span(match: (span: ExportedSpan) => boolean, timeoutMs = 10_000): Promise<ExportedSpan> {
      const found = spans.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching span within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ match, resolve: (span) => (clearTimeout(timer), resolve(span)) });
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** A sender's W3C trace context: a random trace and parent span, sampled. */
function senderContext(): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

/** A subscription whose subscribe message carries `extensions`, every result queued. */
function subscribeWith(client: Client, variables: Record<string, unknown>, extensions?: Record<string, unknown>) {
  const queue: FormattedExecutionResult<OnCallbackEventSubscription, unknown>[] = [];
  const waiters: (() => void)[] = [];
  const dispose = client.subscribe<OnCallbackEventSubscription>(
    { query: print(OnCallbackEventDocument), operationName: "OnCallbackEvent", variables, extensions },
    { next: (result) => (queue.push(result), waiters.splice(0).forEach((wake) => wake())), error: () => {}, complete: () => {} },
  );
  return {
    dispose,
    async next(timeoutMs = 10_000): Promise<OnCallbackEventSubscription["callbackEvents"]> {
      const until = Date.now() + timeoutMs;
      while (queue.length === 0) {
        if (Date.now() > until) throw new Error(`no event within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, until - Date.now()).unref();
        });
      }
      const result = queue.shift()!;
      expect(result.errors).toBeUndefined();
      return result.data!.callbackEvents;
    },
  };
}

let sent = 0;
/** A signed deposit callback for the demo ETH wallet, with a tracking id of its own. */
function signedCallback(key: string): { trackingId: string; body: Record<string, unknown> } {
  const trackingId = `traced-${process.pid}-${++sent}`;
  return { trackingId, body: depositCallback(key, { trackingId }) };
}

const disposables: { dispose(): void | Promise<void> }[] = [];
afterAll(async () => {
  for (const disposable of disposables.reverse()) await disposable.dispose();
});

describe("with OTEL_EXPORTER_OTLP_ENDPOINT set", () => {
  let receiver: Receiver;
  let server: TestServer;
  let secret: string;

  beforeAll(async () => {
    receiver = await startReceiver();
    disposables.push({ dispose: () => receiver.close() });
    server = await startTestServer({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: "50",
      OTEL_SERVICE_NAME: "access-subgraph-test",
    });
    disposables.push({ dispose: () => server.close() });
    secret = await regenerateCallbackSecret(server);
  });

  const inTrace = (traceId: string, name: string) => (span: ExportedSpan) => span.traceId === traceId && span.name === name;

  it("makes a GraphQL operation over HTTP a child of the caller's traceparent, with a span per root field", async () => {
    const sender = senderContext();
    const result = await execute(server.url, MeDocument, {}, { token: await server.token("owner@example.com"), headers: { traceparent: sender.traceparent } });
    expect(result.errors).toBeUndefined();

    const operation = await receiver.span(inTrace(sender.traceId, "query Me"));
    expect(operation).toMatchObject({ parentSpanId: sender.spanId, kind: SERVER });
    expect(operation.attributes).toMatchObject({ "graphql.operation.type": "query", "graphql.operation.name": "Me", "http.response.status_code": 200 });
    expect(operation.status.code ?? 0).not.toBe(STATUS_ERROR);
    expect(operation.resource["service.name"]).toBe("access-subgraph-test");
    const field = await receiver.span(inTrace(sender.traceId, "Query.me"));
    expect(field.parentSpanId).toBe(operation.spanId);
  });

  it("marks a refused operation's span failed with its code", async () => {
    const sender = senderContext();
    const result = await execute(server.url, MeDocument, {}, { headers: { traceparent: sender.traceparent } });
    expect(result.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");

    const operation = await receiver.span(inTrace(sender.traceId, "query Me"));
    expect(operation.parentSpanId).toBe(sender.spanId);
    expect(operation.status.code).toBe(STATUS_ERROR);
    expect(operation.attributes).toMatchObject({ "error.type": "UNAUTHENTICATED", "http.response.status_code": 401 });
    // Refused before execution: no resolver ran.
    expect(receiver.spans.filter((span) => span.traceId === sender.traceId).map((span) => span.name)).toEqual(["query Me"]);
  });

  it("traces a callback's ingress with its verify, store and publish steps, and stores its trace context with the event", async () => {
    const sender = senderContext();
    const { trackingId, body } = signedCallback(secret);
    const answer = await postCallback(server.url, body, { "content-type": "application/json", traceparent: sender.traceparent });
    expect(answer.status).toBe(200);
    const stored = await server.em().findOneOrFail(CallbackEvent, { trackingId });

    const ingress = await receiver.span(inTrace(sender.traceId, "POST /callbacks"));
    expect(ingress).toMatchObject({ parentSpanId: sender.spanId, kind: SERVER });
    expect(ingress.attributes).toMatchObject({ "http.response.status_code": 200, "callback.outcome": "accepted" });
    const steps = await Promise.all(["callback verify", "callback store", "callback publish"].map((name) => receiver.span(inTrace(sender.traceId, name))));
    for (const step of steps) expect(step.parentSpanId).toBe(ingress.spanId);
    const [verify, store] = steps;
    expect(verify!.attributes).toMatchObject({ "callback.wallet_id": DEMO_WALLETS.ETH, "callback.kind": "DEPOSIT", "callback.operation_id": stored.operationId });
    expect(store!.attributes).toMatchObject({ "callback.outcome": "accepted", "callback.sequence": stored.sequence });
    expect(stored.traceContext).toBe(`00-${sender.traceId}-${ingress.spanId}-01`);
  });

  it("traces a refused callback's ingress: verify and its reason, and nothing stored or published", async () => {
    const sender = senderContext();
    const answer = await postCallback(server.url, signedCallback("acs_whsec_not-the-secret").body, { "content-type": "application/json", traceparent: sender.traceparent });
    expect(answer.status).toBe(401);

    const ingress = await receiver.span(inTrace(sender.traceId, "POST /callbacks"));
    expect(ingress.attributes).toMatchObject({ "http.response.status_code": 401, "callback.outcome": "unauthorized", "callback.refusal_reason": "bad_signature" });
    expect(ingress.status.code ?? 0).not.toBe(STATUS_ERROR);
    const verify = await receiver.span(inTrace(sender.traceId, "callback verify"));
    expect(verify.attributes).toMatchObject({ "callback.outcome": "unauthorized", "callback.refusal_reason": "bad_signature" });
    // The ingress span ends last, so the whole trace has arrived with it.
    expect(receiver.spans.filter((span) => span.traceId === sender.traceId).map((span) => span.name).sort()).toEqual(["POST /callbacks", "callback verify"]);
  });

  /**
   * Subscribes on `subscriberUrl` (its trace context carried as the test says), posts a callback to `ingressUrl`
   * and returns the spans of the ingress, the subscription and the delivery, once the subscription has ended.
   */
  async function deliveryTrace(subscriberUrl: string, ingressUrl: string, carry: "extensions" | "upgrade header") {
    const subscriber = senderContext();
    const after = await headCursor(server, secret);
    const client = wsClient(
      subscriberUrl,
      { token: await server.token("owner@example.com") },
      carry === "upgrade header" ? { headers: { traceparent: subscriber.traceparent } } : {},
    );
    disposables.push(client);
    const subscription = subscribeWith(client, { after }, carry === "extensions" ? { traceparent: subscriber.traceparent } : undefined);

    const sender = senderContext();
    const { trackingId, body } = signedCallback(secret);
    expect((await postCallback(ingressUrl, body, { "content-type": "application/json", traceparent: sender.traceparent })).status).toBe(200);
    const event = await subscription.next();
    expect(event.trackingId).toBe(trackingId);
    // Completing the subscription ends its span (and the delivery's, had the consumer not taken the next event yet).
    subscription.dispose();

    const ingress = await receiver.span(inTrace(sender.traceId, "POST /callbacks"));
    const subscriptionSpan = await receiver.span(inTrace(subscriber.traceId, "subscription OnCallbackEvent"));
    const delivery = await receiver.span(inTrace(sender.traceId, "callback deliver"));
    return { subscriber, ingress, subscription: subscriptionSpan, delivery, event };
  }

  for (const carry of ["extensions", "upgrade header"] as const) {
    it(`delivers an event in its ingress's trace, linked to the subscription's span (traceparent in the ${carry})`, async () => {
      const { subscriber, ingress, subscription, delivery, event } = await deliveryTrace(server.url, server.url, carry);
      expect(subscription).toMatchObject({ parentSpanId: subscriber.spanId, kind: SERVER });
      expect(subscription.attributes).toMatchObject({ "graphql.operation.type": "subscription", "graphql.operation.name": "OnCallbackEvent" });
      expect(delivery).toMatchObject({ parentSpanId: ingress.spanId, kind: CONSUMER });
      expect(delivery.links).toEqual([{ traceId: subscriber.traceId, spanId: subscription.spanId }]);
      expect(delivery.attributes).toMatchObject({ "callback.event_id": event.id, "callback.operation_id": event.operationId });
    });
  }

  it.runIf(onPostgres)("joins the ingress's trace when the event is delivered by another instance", async () => {
    const sibling = await server.sibling();
    const { ingress, subscription, delivery } = await deliveryTrace(sibling.url, server.url, "extensions");
    expect(delivery.parentSpanId).toBe(ingress.spanId);
    expect(delivery.links).toEqual([{ traceId: subscription.traceId, spanId: subscription.spanId }]);
    // The subscription and the delivery are the sibling's, the ingress the first instance's.
    expect(delivery.resource["service.instance.id"]).toBe(subscription.resource["service.instance.id"]);
    expect(delivery.resource["service.instance.id"]).not.toBe(ingress.resource["service.instance.id"]);
  });
});

describe("without OTEL_EXPORTER_OTLP_ENDPOINT", () => {
  it("exports nothing, stores no trace context, and serves as usual", async () => {
    const receiver = await startReceiver();
    disposables.push({ dispose: () => receiver.close() });
    // Only the service's configuration turns tracing on: the variable in the process's own environment does not.
    const before = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
    disposables.push({
      dispose() {
        if (before === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
        else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = before;
      },
    });
    const server = await startTestServer();
    let closed = false;
    disposables.push({ dispose: () => (closed ? undefined : server.close()) });
    const secret = await regenerateCallbackSecret(server);
    const sender = senderContext();

    const me = await execute(server.url, MeDocument, {}, { token: await server.token("owner@example.com"), headers: { traceparent: sender.traceparent } });
    expect(me.errors).toBeUndefined();
    const after = await headCursor(server, secret);
    const client = wsClient(server.url, { token: await server.token("owner@example.com") }, { headers: { traceparent: sender.traceparent } });
    disposables.push(client);
    const subscription = subscribeWith(client, { after }, { traceparent: sender.traceparent });
    const { trackingId, body } = signedCallback(secret);
    expect((await postCallback(server.url, body, { "content-type": "application/json", traceparent: sender.traceparent })).status).toBe(200);
    expect((await subscription.next()).trackingId).toBe(trackingId);
    subscription.dispose();

    expect((await server.em().findOneOrFail(CallbackEvent, { trackingId })).traceContext).toBeNull();
    await server.close();
    closed = true;
    expect(receiver.requests()).toBe(0);
  });
});
