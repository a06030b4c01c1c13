import type { ApolloServerPlugin, GraphQLRequestListener } from "@apollo/server";
import { ApolloServerPluginSubscriptionCallback } from "@apollo/server/plugin/subscriptionCallback";
import { GraphQLError } from "graphql";
import { DomainError } from "../domain-error.js";
import type { Logger } from "../logger.js";
import type { GraphQLContext } from "./context.js";
import type { Session, SessionGuard } from "./session-guard.js";

/** Heartbeats go out at this fraction of the interval the router asks for. */
const HEARTBEAT_FRACTION = 0.5;
/** A router that does not answer one request within this long is given up on (the plugin retries, then ends it). */
const CALLBACK_REQUEST_TIMEOUT_MS = 5000;
/** Longest subscription id and verifier accepted. */
const MAX_ID_LENGTH = 256;

/** Who may use the router's HTTP callback mode, and how often it may make the service call out. */
export interface CallbackModePolicy {
  /** Origins callback URLs may point to; none: callback mode is off. */
  origins: readonly string[];
  /** The shortest heartbeat interval a router may ask for (0, no heartbeats, is always accepted). */
  minHeartbeatMs: number;
}

/** The `extensions.subscription` object of a callback-mode request, in either spelling the routers use. */
interface CallbackExtension {
  callbackUrl?: unknown;
  callback_url?: unknown;
  subscriptionId?: unknown;
  subscription_id?: unknown;
  verifier?: unknown;
  heartbeatIntervalMs?: unknown;
  heartbeat_interval_ms?: unknown;
}

function refusal(message: string, code: "FORBIDDEN" | "BAD_USER_INPUT" | "BAD_REQUEST", status: number): GraphQLError {
  const originalError = code === "BAD_REQUEST" ? undefined : new DomainError(code, message);
  return new GraphQLError(message, { originalError, extensions: { code, http: { status } } });
}

/** The origin of a callback URL when it is one the policy allows, else null. */
export function allowedCallbackOrigin(callbackUrl: unknown, policy: CallbackModePolicy): string | null {
  if (typeof callbackUrl !== "string" || callbackUrl.length > 2048) return null;
  let url: URL;
  try {
    url = new URL(callbackUrl);
  } catch {
    return null;
  }
  if (url.username || url.password) return null;
  return policy.origins.includes(url.origin) ? url.origin : null;
}

/**
 * Why a callback-mode request must be refused before anything is sent anywhere, or null when it may go on (its
 * viewer and operation type are checked once resolved). Only a trusted router, to an allowed origin, with a
 * heartbeat no more frequent than the floor.
 */
function requestRefusal(extension: CallbackExtension, context: GraphQLContext, policy: CallbackModePolicy): GraphQLError | null {
  if (policy.origins.length === 0) {
    return refusal("Subscriptions in callback mode are not enabled on this server; subscribe over graphql-ws", "FORBIDDEN", 403);
  }
  if (!context.fromTrustedProxy) return refusal("Callback mode is accepted from a trusted router only", "FORBIDDEN", 403);
  if (allowedCallbackOrigin(extension.callbackUrl ?? extension.callback_url, policy) === null) {
    return refusal("callbackUrl is not on an allowed router origin", "FORBIDDEN", 403);
  }
  for (const value of [extension.subscriptionId ?? extension.subscription_id, extension.verifier]) {
    if (typeof value !== "string" || value.length === 0 || value.length > MAX_ID_LENGTH) {
      return refusal(`subscriptionId and verifier must be strings of 1 to ${MAX_ID_LENGTH} characters`, "BAD_USER_INPUT", 400);
    }
  }
  const asked = extension.heartbeatIntervalMs ?? extension.heartbeat_interval_ms ?? 5000;
  if (typeof asked !== "number" || !Number.isSafeInteger(asked) || asked < 0 || (asked > 0 && asked < policy.minHeartbeatMs)) {
    return refusal(`heartbeatIntervalMs must be 0 (none) or at least ${policy.minHeartbeatMs}`, "BAD_USER_INPUT", 400);
  }
  return null;
}

const notOverHttp = () =>
  refusal("Subscriptions run over graphql-ws on /graphql, or through a router in callback mode", "BAD_REQUEST", 400);

/**
 * Apollo Router's HTTP callback mode for subscriptions (besides graphql-ws passthrough): the router posts the
 * subscription with a callback URL; the subgraph answers at once, then posts the events and heartbeats to that URL.
 *
 * Since that makes the service call out, Apollo Server's plugin only sees a request that passed every check:
 * callback mode configured, the request straight from a trusted router, the URL on an allowed origin, a heartbeat
 * no more frequent than the floor, an authenticated viewer under its session limit, a subscription operation. A
 * refused request is answered with a coded error and nothing is sent anywhere. The subscription runs in a session
 * of its own, which ends it (`complete` with the error) when its token expires or its access ends.
 *
 * Apollo Server's plugin sends its first heartbeat exactly one interval after the subscription starts, when the
 * router already drops a subscription it has not heard from: heartbeats go out at half the interval asked for.
 */
export function subscriptionCallbackPlugin(options: {
  policy: CallbackModePolicy;
  guard: SessionGuard;
  logger: Logger;
}): ApolloServerPlugin<GraphQLContext> {
  const { policy, guard, logger } = options;
  const apollo = ApolloServerPluginSubscriptionCallback({
    logger: {
      debug: (message) => logger.debug(message),
      info: (message) => logger.info(message),
      warn: (message) => logger.warn(message),
      error: (message) => logger.error(message),
    },
    // The one way out: nothing is posted to an origin the policy does not allow, whatever reached the plugin, and
    // no request waits on a router for ever.
    fetcher: (url, init) =>
      allowedCallbackOrigin(String(url), policy) === null
        ? Promise.reject(new Error("callback URL not allowed"))
        : fetch(url, { ...(init as RequestInit), signal: AbortSignal.timeout(CALLBACK_REQUEST_TIMEOUT_MS) }),
  }) as ApolloServerPlugin<GraphQLContext>;

  return {
    async serverWillStart(service) {
      return apollo.serverWillStart?.(service);
    },
    async requestDidStart(requestContext) {
      const extension = requestContext.request.extensions?.subscription as CallbackExtension | undefined;
      if (!extension || typeof extension !== "object") {
        return {
          async didResolveOperation({ operation }) {
            if (operation?.operation === "subscription") throw notOverHttp();
          },
        };
      }
      const refused = requestRefusal(extension, requestContext.contextValue, policy);
      if (refused) {
        return {
          async didResolveOperation() {
            throw refused;
          },
        };
      }
      const asked = (extension.heartbeatIntervalMs ?? extension.heartbeat_interval_ms ?? 5000) as number;
      extension.heartbeatIntervalMs = Math.floor(asked * HEARTBEAT_FRACTION);
      const inner = (await apollo.requestDidStart!(requestContext)) as GraphQLRequestListener<GraphQLContext>;
      let session: Session | null = null;
      let accepted = false;
      return {
        async didResolveOperation({ operation, contextValue }) {
          if (operation?.operation !== "subscription") throw refusal("Callback mode is for subscriptions only", "BAD_REQUEST", 400);
          const viewer = contextValue.viewer;
          if (!viewer) return; // the authentication plugin refuses it
          const opened = guard.open({
            viewer,
            authorization: contextValue.authorization,
            clientAddress: contextValue.clientAddress,
            expiresAt: contextValue.expiresAt,
            accessVersion: contextValue.accessVersion ?? 0,
            onEnd: () => {},
            endsWithLastSubscription: true,
          });
          if (opened instanceof DomainError) {
            throw new GraphQLError(opened.message, { extensions: { ...opened.extensions, http: { status: 429 } } });
          }
          session = contextValue.session = opened;
        },
        async responseForOperation(context) {
          if (!session) return null;
          accepted = true;
          return inner.responseForOperation!(context);
        },
        async willSendResponse(context) {
          if (!accepted) {
            (session as Session | null)?.close();
            return;
          }
          await inner.willSendResponse!(context);
          // A subscription that did not start (its arguments refused) leaves the session empty.
          if (session && session.subscriptions.size === 0) session.close();
        },
      };
    },
  };
}
