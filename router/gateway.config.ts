import { defineConfig, MemPubSub, type GatewayPlugin } from "@graphql-hive/gateway";

/**
 * Hive Gateway in front of access-subgraph, as `npm run router` starts it:
 * `hive-gateway supergraph <composed supergraph> -c router/gateway.config.ts --port 4100`.
 * The same semantics as Apollo Router with router/router.yaml (`ROUTER_SUBSCRIPTIONS=ws`, the default) or
 * router/router.callback.yaml (`ROUTER_SUBSCRIPTIONS=callback`), but for X-Forwarded-For: clients reach this
 * gateway directly, with no load balancer in front to set it, so it is not passed on and the subgraph sees the
 * gateway's address.
 */

/** How the gateway subscribes to this subgraph: over graphql-ws (`ws`) or in HTTP callback mode (`callback`). */
const mode = process.env.ROUTER_SUBSCRIPTIONS ?? "ws";
if (mode !== "ws" && mode !== "callback") throw new Error(`ROUTER_SUBSCRIPTIONS is "ws" or "callback", not "${mode}"`);

/**
 * Where this subgraph posts a callback-mode subscription's events and heartbeats: the gateway's own `/callback`,
 * as the subgraph reaches it. Its origin must be in the subgraph's `SUBSCRIPTION_CALLBACK_ORIGINS`.
 */
const callbackUrl = process.env.ROUTER_CALLBACK_URL ?? "http://localhost:4100/callback";

/**
 * The heartbeat interval the gateway asks for in callback mode; it gives a subscription up when nothing arrived
 * for that long. At or above the subgraph's `SUBSCRIPTION_CALLBACK_MIN_HEARTBEAT_MS` (5 s), as in
 * router/router.callback.yaml.
 */
const heartbeatIntervalMs = Number(process.env.ROUTER_CALLBACK_HEARTBEAT_MS || 5000);

/**
 * The origins whose pages may call the gateway from a browser (CORS): `ROUTER_CORS_ORIGINS`, comma-separated, by
 * default the dashboard's (`npm run web` on `WEB_PORT`, 5173). Others get no `Access-Control-Allow-Origin` of
 * their own, so the browser keeps the answer from them and sends no JSON request at all. No credentials: the page
 * sends its bearer token, never a cookie. A WebSocket is not subject to CORS: graphql-ws sockets authenticate with
 * the token in `connectionParams` alone.
 */
function corsOrigins(): string[] {
  const configured = process.env.ROUTER_CORS_ORIGINS;
  if (configured) return configured.split(",").map((origin) => origin.trim()).filter(Boolean);
  const webPort = process.env.WEB_PORT || "5173";
  return [`http://localhost:${webPort}`, `http://127.0.0.1:${webPort}`];
}

interface ClientAuthorization {
  /** The `Authorization` value the client presented, passed on to every subgraph request. */
  subgraphAuthorization?: string;
}

/**
 * The client's bearer token, read as the subgraph reads it: graphql-ws `connectionParams.token` (as `Bearer …`),
 * `connectionParams.Authorization`, then the `Authorization` header (of the HTTP request, or of the WebSocket
 * upgrade).
 */
function clientAuthorization(connectionParams: unknown, request: Request | undefined): string | undefined {
  const params = (connectionParams ?? {}) as Record<string, unknown>;
  if (typeof params.token === "string") return `Bearer ${params.token}`;
  if (typeof params.Authorization === "string") return params.Authorization;
  if (typeof params.authorization === "string") return params.authorization;
  return request?.headers.get("authorization") ?? undefined;
}

const forwardAuthorization: GatewayPlugin<ClientAuthorization> = {
  onContextBuilding({ context, extendContext }) {
    const connectionParams = (context as { connectionParams?: unknown }).connectionParams;
    extendContext({ subgraphAuthorization: clientAuthorization(connectionParams, context.request) });
  },
};

const subscriptions =
  mode === "ws"
    ? {
        kind: "ws",
        location: "/graphql",
        // One socket to the subgraph per client token; an empty value is left out.
        options: { connectionParams: { Authorization: "{context.subgraphAuthorization}" } },
      }
    : {
        kind: "http-callback",
        // The subscribe request is a fetch like a query's: propagateHeaders below gives it the Authorization.
        options: { public_url: callbackUrl, heartbeat_interval: heartbeatIntervalMs },
      };

export const gatewayConfig = defineConfig<ClientAuthorization>({
  plugins: () => [forwardAuthorization],
  cors: {
    origin: corsOrigins(),
    methods: ["GET", "POST"],
    allowedHeaders: ["authorization", "content-type", "apollo-require-preflight"],
    credentials: false,
    maxAge: 600,
  },
  // Every request to a subgraph over HTTP (router.yaml's `headers: all: propagate`): queries, mutations, entity
  // fetches, and callback-mode subscribe requests.
  propagateHeaders: {
    fromClientToSubgraphs: ({ context }) => ({ authorization: context.subgraphAuthorization }),
  },
  transportEntries: { access: { options: { subscriptions } } },
  ...(mode === "callback" ? { pubsub: new MemPubSub(), webhooks: true } : {}),
});
