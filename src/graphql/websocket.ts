import type { EntityManager } from "@mikro-orm/core";
import { SpanKind, SpanStatusCode, trace, type Span, type Tracer } from "@opentelemetry/api";
import {
  GraphQLError,
  execute,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from "graphql";
import type { Context } from "graphql-ws";
import { useServer, type Extra } from "graphql-ws/use/ws";
import type http from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { authenticate, type AuthenticationServices } from "../auth/authenticate.js";
import type { Config } from "../config.js";
import { DomainError, limitExceeded, unauthenticated } from "../domain-error.js";
import type { Metrics } from "../metrics.js";
import type { AccountBudget } from "../network/account-budget.js";
import type { ClientAddressResolver } from "../network/client-address.js";
import { contextOf, type TraceScope } from "../tracing/tracing.js";
import { createContext, type ResolverServices } from "./context.js";
import { DocumentCache } from "./document-cache.js";
import { sensitiveFieldRefusal, type OperationRules } from "./operation-rules.js";
import type { Session, SessionGuard } from "./session-guard.js";
import { sharedSubscribe } from "./shared-subscription.js";

/** The path graphql-ws is served on: the same as HTTP GraphQL, where a router passes subscriptions through. */
const PATH = "/graphql";
/** How long a socket that sent an oversized frame has to receive the close (1009) before it is dropped. */
const OVERSIZED_CLOSE_GRACE_MS = 1000;

/** What the server keeps per socket, beside graphql-ws's own `socket` and `request`. */
type SocketState = {
  clientAddress?: string;
  authorization?: string;
  session?: Session;
  /** Set when nothing new may run on the socket: every subscribe is answered with it. */
  refusal?: DomainError;
  /** The socket closes with this once its operations have ended. */
  closing?: { code: number; reason: string };
  timer?: NodeJS.Timeout;
  /** The spans of the operations running on the socket, by id (tracing on only). */
  spans?: Map<string, Span>;
};

type SocketContext = Context<Record<string, unknown>, Extra & Partial<SocketState>>;

/**
 * The close code once nothing on a socket can continue, one graphql-ws clients do not retry: 1001 when the server
 * stops, 1008 past a limit, 4401 when its token is dead.
 */
function closeCodeOf(error: DomainError): number {
  if (error.code === "SHUTTING_DOWN") return 1001;
  if (error.code === "LIMIT_EXCEEDED") return 1008;
  return 4401;
}

/** The bearer token of a graphql-ws connection: `connectionParams.token`, `.Authorization`, or the upgrade header. */
function authorizationOf(params: Record<string, unknown> | undefined, request: http.IncomingMessage): string | undefined {
  if (typeof params?.token === "string") return `Bearer ${params.token}`;
  if (typeof params?.Authorization === "string") return params.Authorization;
  if (typeof params?.authorization === "string") return params.authorization;
  return request.headers.authorization;
}

/** A domain error as graphql-ws sends it: its code in the extensions, the error kept for the formatter. */
function asGraphQLError(error: DomainError): GraphQLError {
  return new GraphQLError(error.message, { originalError: error, extensions: error.extensions });
}

/**
 * Errors graphql-js returns before it runs anything (a result without `data`: variables that do not coerce) carry
 * no code and no path; over HTTP Apollo Server answers them BAD_USER_INPUT, and so does this transport.
 */
function withRequestErrorCodes(errors: readonly GraphQLError[]): GraphQLError[] {
  return errors.map((error) =>
    error.path === undefined && error.extensions.code === undefined
      ? new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: "BAD_USER_INPUT" } })
      : error,
  );
}

/**
 * What a refused operation runs instead: its result is the refusal (`{ errors }`), sent as the operation's one
 * `next` and followed by `complete`, as every refused or ended operation is (docs/subscriptions.md).
 */
const REFUSED_DOCUMENT = parse("{ __typename }");
type Refused = { refusal: readonly GraphQLError[] };

function isRefused(context: unknown): context is Refused {
  return typeof context === "object" && context !== null && "refusal" in context;
}

/** The path of a request target, or null when it is not one. */
function pathOf(target: string | undefined): string | null {
  try {
    return new URL(target ?? "/", "http://localhost").pathname;
  } catch {
    return null;
  }
}

function refuseUpgrade(socket: Duplex, status: string): void {
  socket.on("error", () => {});
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * graphql-ws on `/graphql`, bounded before anyone is known: frames larger than `maxPayloadBytes` close the socket
 * (1009) before they are read, each client address holds at most `maxSocketsPerAddress` sockets (a trusted router
 * that names no client, `maxSocketsPerProxy`), and a socket that sends no `connection_init` in time is closed
 * (4408). A connection is authenticated at init; without a valid token (or past the per-user limit) it is still
 * acknowledged, every subscribe on it is answered with the reason as a coded error, and it is closed soon after
 * (4401, or 1008). Every subscribe spends one operation of the account's budget, as an HTTP request does (past it:
 * RATE_LIMITED, the socket stays open). Every operation meets the same rules as over HTTP (`operation-rules.ts`)
 * and its errors go through the same formatter. An operation the server refuses or ends gets a last `next` whose result carries
 * the coded error, then `complete` (a graphql-ws `error` message is what routers mask as "Unexpected error"); the
 * socket closes only when nothing on it can continue (docs/subscriptions.md).
 */
export function serveWebSockets(options: {
  httpServer: http.Server;
  schema: GraphQLSchema;
  em: () => EntityManager;
  services: ResolverServices;
  authentication: AuthenticationServices;
  /** Charged once per subscribe on an authenticated socket. */
  budget: Pick<AccountBudget, "charge">;
  addresses: ClientAddressResolver;
  metrics: Pick<Metrics, "socketsRefused">;
  rules: OperationRules;
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  guard: SessionGuard;
  limits: Config["websocket"];
  /**
   * Traces each operation, from subscribe to complete (a subscription's deliveries link to its span); null when
   * tracing is off.
   */
  tracer: Tracer | null;
}) {
  const { em, rules, limits, guard, addresses, metrics, tracer } = options;
  const documents = new DocumentCache(500, 10_000, rules.parseOptions);
  // A cached document was validated against the same schema and rules: its answer does not change.
  const validated = new WeakMap<DocumentNode, readonly GraphQLError[]>();
  const format = (errors: readonly GraphQLError[]) =>
    errors.map((error) => options.formatError(error.toJSON() as GraphQLFormattedError, error));

  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxPayloadBytes });
  // ws answers a frame over `maxPayload` with close 1009, then reads (and drops) the rest of it while it waits for
  // the client's close: a stranger's 100 MiB would still pass through the process. The socket stops reading
  // instead, and is dropped once the close frame has had time to arrive.
  wss.on("connection", (socket: WebSocket, request: http.IncomingMessage) => {
    socket.on("error", (error: Error & { code?: string }) => {
      if (error.code !== "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") return;
      setImmediate(() => request.socket.pause());
      setTimeout(() => socket.terminate(), OVERSIZED_CLOSE_GRACE_MS).unref();
    });
  });
  const socketsPerAddress = new Map<string, number>();
  const clientAddresses = new WeakMap<http.IncomingMessage, string>();
  let draining = false;
  options.httpServer.on("upgrade", (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // A stopping server takes no new socket: the client (or router) opens one on another instance.
    if (draining) return refuseUpgrade(socket, "503 Service Unavailable");
    if (pathOf(request.url) !== PATH) {
      metrics.socketsRefused.inc({ reason: "path" });
      return refuseUpgrade(socket, "404 Not Found");
    }
    const address = addresses.resolve(request.socket.remoteAddress, request.headers["x-forwarded-for"]);
    const limit = addresses.isTrustedProxy(address) ? limits.maxSocketsPerProxy : limits.maxSocketsPerAddress;
    const held = socketsPerAddress.get(address) ?? 0;
    if (held >= limit) {
      metrics.socketsRefused.inc({ reason: "address_limit" });
      return refuseUpgrade(socket, "429 Too Many Requests");
    }
    socketsPerAddress.set(address, held + 1);
    // The raw socket closes once, however the connection ends (a failed handshake included).
    socket.once("close", () => {
      const left = (socketsPerAddress.get(address) ?? 1) - 1;
      if (left <= 0) socketsPerAddress.delete(address);
      else socketsPerAddress.set(address, left);
    });
    clientAddresses.set(request, address);
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request));
  });

  const closeWhenIdle = (ctx: SocketContext, completedId?: string) => {
    const { closing, socket } = ctx.extra;
    if (!closing) return;
    const running = Object.keys(ctx.subscriptions).filter((id) => id !== completedId);
    if (running.length === 0) socket.close(closing.code, closing.reason);
  };

  /** Nothing new runs on the socket: every operation is answered with `error`, and it closes after `delayMs`. */
  const refuse = (ctx: SocketContext, error: DomainError, delayMs: number) => {
    const state = ctx.extra;
    state.refusal ??= error;
    clearTimeout(state.timer);
    state.timer = setTimeout(() => state.socket.close(closeCodeOf(error), error.message.slice(0, 120)), delayMs);
    state.timer.unref();
  };

  /** The session ended (its subscriptions already got `error`): the socket closes once its operations are done. */
  const endSocket = (ctx: SocketContext, error: DomainError) => {
    ctx.extra.closing = { code: closeCodeOf(error), reason: error.message.slice(0, 120) };
    refuse(ctx, error, limits.connectionInitTimeoutMs);
    closeWhenIdle(ctx);
  };

  /**
   * The span of an operation, from its subscribe to its complete. graphql-ws messages carry no headers: its parent
   * is the subscribe message's `extensions.traceparent` (with `extensions.tracestate`), else the `traceparent`
   * header of the socket's upgrade request (a router's), else none.
   */
  const operationTrace = (tracer: Tracer, state: SocketContext["extra"], id: string, extensions: unknown): TraceScope => {
    const carrier = typeof (extensions as { traceparent?: unknown } | null | undefined)?.traceparent === "string" ? extensions : state.request.headers;
    const parent = contextOf(carrier);
    const span = tracer.startSpan("GraphQL Operation", { kind: SpanKind.SERVER, attributes: { "url.path": PATH } }, parent);
    (state.spans ??= new Map()).set(id, span);
    return { tracer, context: trace.setSpan(parent, span) };
  };
  const endOperationSpan = (state: SocketContext["extra"], id: string) => {
    state.spans?.get(id)?.end();
    state.spans?.delete(id);
  };

  /** Sockets with a live session: the server ends those through their sessions when it stops. */
  const withSession = new WeakSet<WebSocket>();

  const server = useServer<Record<string, unknown>, SocketState>(
    {
      schema: options.schema,
      connectionInitWaitTimeout: limits.connectionInitTimeoutMs,
      subscribe: sharedSubscribe((context) => (context as { viewer?: { userId: string } | null }).viewer?.userId ?? null),
      onConnect: async (ctx) => {
        const state = ctx.extra;
        state.clientAddress = clientAddresses.get(state.request) ?? "unknown";
        state.authorization = authorizationOf(ctx.connectionParams, state.request);
        const auth = await authenticate(options.authentication, em(), state.authorization, state.clientAddress);
        if (!auth.viewer) {
          refuse(ctx, auth.error, limits.connectionInitTimeoutMs);
          return true;
        }
        const opened = guard.open({
          viewer: auth.viewer,
          authorization: state.authorization,
          clientAddress: state.clientAddress,
          expiresAt: auth.expiresAt,
          accessVersion: auth.accessVersion,
          onEnd: (error) => endSocket(ctx, error),
        });
        if (opened instanceof DomainError) {
          refuse(ctx, opened, limits.connectionInitTimeoutMs);
          return true;
        }
        // The client may have gone while it was authenticated.
        if (state.socket.readyState !== state.socket.OPEN) {
          opened.close();
        } else {
          state.session = opened;
          withSession.add(state.socket);
        }
        return true;
      },
      execute: (args: ExecutionArgs) => (isRefused(args.contextValue) ? { errors: args.contextValue.refusal } : execute(args)),
      onSubscribe: (ctx, id, payload) => {
        const state = ctx.extra;
        const traced = tracer ? operationTrace(tracer, state, id, payload.extensions) : null;
        const refused = (errors: readonly GraphQLError[]) => ({
          schema: options.schema,
          document: REFUSED_DOCUMENT,
          contextValue: { refusal: errors } satisfies Refused,
        });
        if (state.refusal || !state.session) return refused([asGraphQLError(state.refusal ?? unauthenticated())]);
        const overBudget = options.budget.charge(state.session.viewer.accountId);
        if (overBudget) return refused([asGraphQLError(overBudget)]);
        // graphql-ws has registered this operation already.
        if (Object.keys(ctx.subscriptions).length > limits.maxOperationsPerSocket) {
          return refused([
            asGraphQLError(
              limitExceeded(`At most ${limits.maxOperationsPerSocket} operations run at once on one socket`, "WS_MAX_OPERATIONS_PER_SOCKET"),
            ),
          ]);
        }
        let document: DocumentNode;
        try {
          document = documents.parse(payload.query);
        } catch (error) {
          return refused([new GraphQLError((error as Error).message, { extensions: { code: "GRAPHQL_PARSE_FAILED" } })]);
        }
        let errors = validated.get(document);
        if (!errors) {
          errors = validate(options.schema, document, [...specifiedRules, ...rules.validationRules]).map(
            (error) => new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }),
          );
          validated.set(document, errors);
        }
        if (errors.length > 0) return refused(errors);
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) {
          return refused([new GraphQLError("Unable to identify the operation to run", { extensions: { code: "OPERATION_RESOLUTION_FAILURE" } })]);
        }
        const session = state.session;
        if (traced) {
          const span = trace.getSpan(traced.context)!;
          const name = operation.name?.value;
          span.updateName(name ? `${operation.operation} ${name}` : operation.operation);
          span.setAttribute("graphql.operation.type", operation.operation);
          if (name) span.setAttribute("graphql.operation.name", name);
        }
        const refusal = sensitiveFieldRefusal(operation, document, rules);
        if (refusal) return refused([refusal]);
        return {
          schema: options.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: createContext(
            em,
            options.services,
            { viewer: session.viewer, error: null, expiresAt: session.init.expiresAt, accessVersion: session.accessVersion },
            { clientAddress: state.clientAddress ?? "unknown", authorization: state.authorization, fromTrustedProxy: false, session, trace: traced },
          ),
        };
      },
      onNext: (ctx, id, _payload, _args, result) => {
        if (!result.errors) return undefined;
        const span = ctx.extra.spans?.get(id);
        if (span) {
          span.setAttribute("error.type", String(result.errors[0]?.extensions.code ?? "ERROR"));
          span.setStatus({ code: SpanStatusCode.ERROR, message: result.errors[0]?.message });
        }
        return { ...result, errors: format("data" in result ? result.errors : withRequestErrorCodes(result.errors)) } as never;
      },
      onError: (_ctx, _id, _payload, errors) => format(errors) as never,
      // graphql-ws calls this before it sends `complete`: the socket closes after that message, not before.
      onComplete: (ctx, id) => {
        endOperationSpan(ctx.extra, id);
        setImmediate(() => closeWhenIdle(ctx, id));
      },
      onClose: (ctx) => {
        clearTimeout(ctx.extra.timer);
        for (const id of ctx.extra.spans?.keys() ?? []) endOperationSpan(ctx.extra, id);
        ctx.extra.session?.close();
      },
    },
    wss,
  );

  return {
    /**
     * The server stops: sockets whose sessions were ended close once their operations have sent their last
     * message; the others close now (1001). Waits up to `timeoutMs` for every socket to close.
     */
    async drain(timeoutMs: number): Promise<void> {
      draining = true;
      for (const socket of wss.clients) if (!withSession.has(socket)) socket.close(1001, "Going away");
      const deadline = Date.now() + timeoutMs;
      while (wss.clients.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    },
    dispose: () => server.dispose(),
  };
}
