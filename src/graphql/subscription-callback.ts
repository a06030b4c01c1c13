import type { ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginSubscriptionCallback } from "@apollo/server/plugin/subscriptionCallback";
import type { Logger } from "../logger.js";

/** Heartbeats go out at this fraction of the interval the router asks for. */
const HEARTBEAT_FRACTION = 0.5;
/** Never more often than this. */
const MIN_HEARTBEAT_MS = 100;

/**
 * The router drops a callback subscription it has not heard from for `heartbeatIntervalMs`, and Apollo Server's
 * plugin sends its first heartbeat exactly that long after the subscription starts: with any latency the
 * heartbeat is late, and an idle subscription dies at its first interval. So the interval the router asked for is
 * halved before the plugin reads it: a heartbeat then always arrives within the router's window.
 */
function heartbeatWithinRouterWindow(): ApolloServerPlugin {
  return {
    async requestDidStart({ request }) {
      const subscription = request.extensions?.subscription as
        | { heartbeatIntervalMs?: number; heartbeat_interval_ms?: number }
        | undefined;
      if (!subscription) return;
      const asked = subscription.heartbeatIntervalMs ?? subscription.heartbeat_interval_ms ?? 5000;
      if (typeof asked !== "number" || asked <= 0) return;
      subscription.heartbeatIntervalMs = Math.max(MIN_HEARTBEAT_MS, Math.floor(asked * HEARTBEAT_FRACTION));
    },
  };
}

/**
 * Apollo Router's HTTP callback mode for subscriptions (besides graphql-ws passthrough): the router posts the
 * subscription with a callback URL; the subgraph answers at once, then posts the events and heartbeats to that URL.
 */
export function subscriptionCallbackPlugins(logger: Logger): ApolloServerPlugin[] {
  return [
    heartbeatWithinRouterWindow(),
    ApolloServerPluginSubscriptionCallback({
      logger: {
        debug: (message) => logger.debug(message),
        info: (message) => logger.info(message),
        warn: (message) => logger.warn(message),
        error: (message) => logger.error(message),
      },
    }),
  ];
}
