import { parseArgs } from "node:util";
import { launchRouter, type RouterSettings } from "./launch-router.js";

const USAGE = `Usage: npm run router [-- --access-only] [-- --callback]

Composes router/supergraph.yaml, starts the development deposits subgraph and the Hive Gateway in front of the
running access subgraph (npm start).
  --access-only   compose the access subgraph alone; no deposits subgraph
  --callback      subscribe to the access subgraph in HTTP callback mode instead of over graphql-ws

Settings: ROUTER_PORT (4100), ACCESS_SUBGRAPH_URL (http://localhost:$PORT/graphql, PORT 4000), DEPOSITS_PORT (4001),
ROUTER_SUBSCRIPTIONS (ws or callback), ROUTER_CALLBACK_URL (http://localhost:$ROUTER_PORT/callback),
ROUTER_CALLBACK_HEARTBEAT_MS (5000), ROUTER_CORS_ORIGINS (http://localhost:$WEB_PORT,http://127.0.0.1:$WEB_PORT,
WEB_PORT 5173).`;

/** A whole number from the environment, or its default. */
function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const value = env[name];
  if (value === undefined || value === "") return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) throw new Error(`${name} is a whole number from ${min} to ${max}, not "${value}"`);
  return number;
}
const port = (env: NodeJS.ProcessEnv, name: string, fallback: number) => integer(env, name, fallback, 0, 65_535);

/** The launcher's settings from its arguments and environment (see the README's configuration table). */
function routerSettings(values: { "access-only": boolean; callback: boolean }, env: NodeJS.ProcessEnv): Omit<RouterSettings, "log"> {
  const subscriptions = values.callback ? "callback" : (env.ROUTER_SUBSCRIPTIONS ?? "ws");
  if (subscriptions !== "ws" && subscriptions !== "callback") throw new Error(`ROUTER_SUBSCRIPTIONS is "ws" or "callback", not "${subscriptions}"`);
  return {
    port: port(env, "ROUTER_PORT", 4100),
    accessUrl: env.ACCESS_SUBGRAPH_URL || `http://localhost:${port(env, "PORT", 4000)}/graphql`,
    depositsPort: values["access-only"] ? null : port(env, "DEPOSITS_PORT", 4001),
    subscriptions,
    callbackUrl: env.ROUTER_CALLBACK_URL || undefined,
    callbackHeartbeatMs: integer(env, "ROUTER_CALLBACK_HEARTBEAT_MS", 5000, 100, 3_600_000),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { "access-only": { type: "boolean", default: false }, callback: { type: "boolean", default: false }, help: { type: "boolean" } },
  });
  if (values.help) return void console.log(USAGE);
  const log = (line: string) => console.error(`[router] ${line}`);
  const settings = routerSettings(values, process.env);

  // Ctrl-C (or SIGTERM) stops everything, also while the gateway is still starting.
  const stopping = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      if (stopping.signal.aborted) return;
      log(`${signal}: stopping`);
      stopping.abort();
    });
  }
  const router = await launchRouter({ ...settings, log, signal: stopping.signal }).catch((error: unknown) => {
    if (stopping.signal.aborted) process.exit(0);
    throw error;
  });
  process.once("exit", () => router.gateway.kill("SIGKILL"));
  // The one line a person or a script waits for.
  const transport = settings.subscriptions === "ws" ? "graphql-ws" : "HTTP callbacks";
  console.log(`Router ready: ${router.url}/graphql (subscriptions to the access subgraph over ${transport})`);

  const stopped = new Promise<"stopped">((resolve) => stopping.signal.addEventListener("abort", () => resolve("stopped")));
  const exit = await Promise.race([router.exited, stopped]);
  if (exit !== "stopped") log(`the gateway exited (${exit}): stopping`);
  await router.stop();
  process.exit(exit === "stopped" ? 0 : typeof exit === "number" && exit !== 0 ? exit : 1);
}

main().catch((error: unknown) => {
  console.error(`[router] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
