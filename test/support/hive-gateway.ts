import { createGatewayRuntime, getGraphQLWSOptions } from "@graphql-hive/gateway-runtime";
import { MemPubSub } from "@graphql-hive/pubsub";
import { useServer } from "graphql-ws/use/ws";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";

/** The gateway's HTTP server, listening on port 0 before the gateway exists (so that its URL can be configured). */
export interface GatewayListener {
  server: http.Server;
  url: string;
}

export async function listenForGateway(): Promise<GatewayListener> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * The Hive Gateway runtime on port 0, as a router in front of the subgraphs: queries over HTTP with the client's
 * Authorization header propagated; subscriptions to the access subgraph either passed through over graphql-ws
 * (the client's `connectionParams.token` forwarded) or in HTTP callback mode.
 */
export async function startHiveGateway(
  supergraph: string,
  mode: "ws" | "http-callback" = "ws",
  listening?: GatewayListener,
): Promise<{ url: string; stop(): Promise<void> }> {
  const { server, url } = listening ?? (await listenForGateway());
  const subscriptions =
    mode === "ws"
      ? {
          kind: "ws",
          location: "/graphql",
          options: { connectionParams: { token: "{context.connectionParams.token}" } },
        }
      : {
          kind: "http-callback",
          headers: [["authorization", "Bearer {context.connectionParams.token}"]],
          options: { public_url: `${url}/callback`, heartbeat_interval: 2000 },
        };
  const gateway = createGatewayRuntime({
    supergraph,
    logging: process.env.HIVE_DEBUG ? "debug" : false,
    ...(mode === "http-callback" ? { pubsub: new MemPubSub(), webhooks: true } : {}),
    propagateHeaders: {
      // HTTP clients send a header; graphql-ws clients a token in their connection parameters.
      fromClientToSubgraphs: ({ request, context }) => {
        const token = (context as { connectionParams?: { token?: unknown } }).connectionParams?.token;
        return { authorization: request.headers.get("authorization") ?? (typeof token === "string" ? `Bearer ${token}` : undefined) };
      },
    },
    transportEntries: { access: { options: { subscriptions } } } as never,
  });
  server.on("request", gateway);
  const wss = new WebSocketServer({ server, path: gateway.graphqlEndpoint });
  const ws = useServer(
    getGraphQLWSOptions(gateway, (ctx) => ({
      req: (ctx.extra as { request?: http.IncomingMessage } | undefined)?.request,
      socket: (ctx.extra as { socket?: unknown } | undefined)?.socket,
      connectionParams: ctx.connectionParams,
    })),
    wss,
  );
  // The gateway loads its schema on the first HTTP request; WebSocket subscriptions need it ready.
  await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: "{ __typename }" }),
  });
  return {
    url,
    async stop() {
      await ws.dispose();
      await gateway.dispose();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
