import type { EntityManager } from "@mikro-orm/core";
import {
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type ValidationRule,
} from "graphql";
import { useServer } from "graphql-ws/use/ws";
import type http from "node:http";
import type { WebSocket, WebSocketServer } from "ws";
import type { Viewer } from "../access/viewer.js";
import { authenticate } from "../auth/authenticate.js";
import type { Runtime } from "../runtime.js";
import { createContext, type GraphQLContext } from "./context.js";
import { DocumentCache } from "./document-cache.js";
import { sharedSubscribe } from "./shared-subscription.js";
import type { SocketGuard } from "./socket-guard.js";

type ConnectionExtra = {
  socket: WebSocket;
  request: http.IncomingMessage;
  viewer?: Viewer;
  clientAddress?: string;
  untrack?: () => void;
};

/** The bearer token of a graphql-ws connection: `connectionParams.token`, `.Authorization`, or the upgrade header. */
function authorizationOf(params: Record<string, unknown> | undefined, request: http.IncomingMessage): string | undefined {
  if (typeof params?.token === "string") return `Bearer ${params.token}`;
  if (typeof params?.Authorization === "string") return params.Authorization;
  if (typeof params?.authorization === "string") return params.authorization;
  return request.headers.authorization;
}

/**
 * graphql-ws on `/graphql` (the path a router passes subscriptions through). A connection is authenticated at
 * init (refused: close 4403), every subscribe runs with the connection's viewer and is validated with the same
 * limits as HTTP, and the socket guard closes sockets whose access ended.
 */
export function serveWebSockets(options: {
  wss: WebSocketServer;
  schema: GraphQLSchema;
  runtime: Runtime;
  em: () => EntityManager;
  limits: ValidationRule[];
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  guard: SocketGuard;
  clientAddressOf: (request: http.IncomingMessage) => string;
}) {
  const { runtime, em } = options;
  const documents = new DocumentCache();
  // A cached document was validated against the same schema and rules: its answer does not change.
  const validated = new WeakMap<DocumentNode, readonly GraphQLError[]>();
  return useServer<Record<string, unknown>, ConnectionExtra>(
    {
      schema: options.schema,
      subscribe: sharedSubscribe((context) => (context as GraphQLContext).viewer?.userId ?? null),
      parse: (query) => (typeof query === "string" ? documents.parse(query) : parse(query)),
      validate: (schema, document) => {
        let errors = validated.get(document);
        if (!errors) {
          errors = validate(schema, document, [...specifiedRules, ...options.limits]).map(
            (error) => new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }),
          );
          validated.set(document, errors);
        }
        return errors;
      },
      onConnect: async (ctx) => {
        const { request, socket } = ctx.extra;
        const authorization = authorizationOf(ctx.connectionParams, request);
        const clientAddress = options.clientAddressOf(request);
        const auth = await authenticate(runtime, em(), authorization, clientAddress);
        if (!auth.viewer) return false;
        ctx.extra.viewer = auth.viewer;
        ctx.extra.clientAddress = clientAddress;
        ctx.extra.untrack = await options.guard.track({
          viewer: auth.viewer,
          authorization,
          clientAddress,
          expiresAt: auth.expiresAt,
          close: (code, reason) => socket.close(code, reason),
        });
        return true;
      },
      onClose: (ctx) => ctx.extra.untrack?.(),
      context: (ctx) => {
        const { viewer, clientAddress, socket } = ctx.extra;
        return createContext(em, runtime, { viewer: viewer ?? null, error: null }, clientAddress ?? "unknown", {
          close: (code, reason) => socket.close(code, reason),
        }) as unknown as Record<string, unknown>;
      },
      onError: (_ctx, _id, _payload, errors) =>
        errors.map((error) => options.formatError(error.toJSON() as GraphQLFormattedError, error)) as never,
    },
    options.wss,
  );
}
