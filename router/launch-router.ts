import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { startDepositsSubgraph } from "./deposits-subgraph.js";
import { repositoryFile } from "./repository.js";
import { compose, subgraphsOfSupergraphYaml } from "./supergraph.js";

/** What `npm run router` starts, and how. */
export interface RouterSettings {
  /** Port the gateway serves `/graphql` on; 0 picks a free one. @default 4100 (ROUTER_PORT) */
  port: number;
  /** The access subgraph's GraphQL endpoint. @default http://localhost:$PORT/graphql (ACCESS_SUBGRAPH_URL) */
  accessUrl: string;
  /**
   * Port of the development deposits subgraph the launcher starts, or null to compose this subgraph alone
   * (`--access-only`). @default 4001 (DEPOSITS_PORT)
   */
  depositsPort: number | null;
  /** How the gateway subscribes to this subgraph: graphql-ws, or HTTP callback mode. @default "ws" */
  subscriptions: "ws" | "callback";
  /**
   * The gateway's callback endpoint as this subgraph reaches it (callback mode).
   * @default http://localhost:<port>/callback (ROUTER_CALLBACK_URL)
   */
  callbackUrl?: string;
  /**
   * Heartbeat interval the gateway asks for in callback mode, at or above the subgraph's
   * `SUBSCRIPTION_CALLBACK_MIN_HEARTBEAT_MS`. @default 5000 (ROUTER_CALLBACK_HEARTBEAT_MS)
   */
  callbackHeartbeatMs?: number;
  /** Where the gateway's own output goes: to this process's, or kept (its last 64 KiB) for `output()`. @default "inherit" */
  output?: "inherit" | "keep";
  /** Progress lines of the launcher. */
  log(line: string): void;
  /** Aborted: stop starting (whatever started is stopped, and the launch rejects). */
  signal?: AbortSignal;
}

export interface LaunchedRouter {
  /** The gateway's origin; clients use `${url}/graphql`. */
  url: string;
  /** The Hive Gateway CLI process. */
  gateway: ChildProcess;
  /** The gateway's output so far, when kept. */
  output(): string;
  /** The deposits subgraph's endpoint, unless composed without it. */
  depositsUrl: string | null;
  /** Where the access subgraph's SDL came from: the running subgraph, or the checked-in file. */
  accessSdlSource: "subgraph" | "schema/access.graphql";
  /** The composed supergraph the gateway serves (a temporary file, removed by `stop`). */
  supergraphFile: string;
  /** Resolves with the gateway's exit code (or the signal that ended it) once it exited, for whatever reason. */
  exited: Promise<number | NodeJS.Signals>;
  /** Stops the gateway (SIGTERM, then SIGKILL after 10 s) and the deposits subgraph, and removes the supergraph. */
  stop(): Promise<void>;
}

/** The checked-in gateway configuration. */
export const GATEWAY_CONFIG = repositoryFile("router/gateway.config.ts");
/** The Hive Gateway CLI's entry point, run with this Node. */
const HIVE_GATEWAY_BIN = path.join(
  path.dirname(createRequire(import.meta.url).resolve("@graphql-hive/gateway/package.json")),
  "dist/bin.js",
);
/** How long the gateway may take to answer its first query. */
const READY_TIMEOUT_MS = 30_000;
/** How much of the gateway's output is kept, when it is. */
const KEPT_OUTPUT_CHARS = 64 * 1024;
/** How long the gateway may take to stop after SIGTERM. */
const STOP_TIMEOUT_MS = 10_000;

/**
 * Composes `router/supergraph.yaml` with the access subgraph's live SDL (its `_service { sdl }`, or the checked-in
 * `schema/access.graphql` when it does not answer), starts the deposits subgraph unless left out, and starts the
 * Hive Gateway CLI with `router/gateway.config.ts` in front of them. Resolves once the gateway answers a query.
 */
export async function launchRouter(settings: RouterSettings): Promise<LaunchedRouter> {
  const port = settings.port === 0 ? await freePort() : settings.port;
  const access = await accessSdl(settings.accessUrl);
  settings.log(
    access.source === "subgraph"
      ? `access subgraph ${settings.accessUrl}: SDL from the subgraph`
      : `access subgraph ${settings.accessUrl} did not answer: SDL from schema/access.graphql`,
  );

  const deposits = settings.depositsPort === null ? null : await startDepositsSubgraph({ port: settings.depositsPort });
  const cleanups: (() => Promise<void> | void)[] = [];
  if (deposits) {
    cleanups.push(() => deposits.stop());
    settings.log(`deposits subgraph ${deposits.url}`);
  }
  try {
    const subgraphs = subgraphsOfSupergraphYaml({ access: settings.accessUrl, ...(deposits ? { deposits: deposits.url } : {}) })
      .filter((subgraph) => subgraph.name === "access" || (deposits && subgraph.name === "deposits"))
      .map((subgraph) => (subgraph.name === "access" && access.sdl ? { ...subgraph, sdl: access.sdl } : subgraph));
    const composition = compose(subgraphs);
    if (composition.errors) throw new Error(`composition failed:\n${composition.errors.map((error) => error.message).join("\n")}`);
    for (const hint of composition.hints) settings.log(`composition hint: ${hint.toString()}`);

    const folder = fs.mkdtempSync(path.join(os.tmpdir(), "access-router-"));
    cleanups.push(() => fs.rmSync(folder, { recursive: true, force: true }));
    const supergraphFile = path.join(folder, "supergraph.graphql");
    fs.writeFileSync(supergraphFile, composition.supergraphSdl);

    const gateway = spawnGateway(supergraphFile, port, settings);
    let output = "";
    const keep = (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-KEPT_OUTPUT_CHARS));
    gateway.stdout?.on("data", keep);
    gateway.stderr?.on("data", keep);
    const exited = new Promise<number | NodeJS.Signals>((resolve) => gateway.once("exit", (code, signal) => resolve(code ?? signal!)));
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        if (gateway.exitCode === null && gateway.signalCode === null) {
          gateway.kill("SIGTERM");
          const killer = setTimeout(() => {
            settings.log(`the gateway did not stop within ${STOP_TIMEOUT_MS / 1000} s: killing it`);
            gateway.kill("SIGKILL");
          }, STOP_TIMEOUT_MS);
          await exited;
          clearTimeout(killer);
        }
        for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
      })());
    const url = `http://localhost:${port}`;
    try {
      await untilReady(`${url}/graphql`, exited, settings.signal);
    } catch (error) {
      await stop();
      throw new Error(`${(error as Error).message}${output ? `:\n${output}` : ""}`, { cause: error });
    }
    return {
      url,
      gateway,
      output: () => output,
      depositsUrl: deposits?.url ?? null,
      accessSdlSource: access.source,
      supergraphFile,
      exited,
      stop,
    };
  } catch (error) {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    throw error;
  }
}

/** The access subgraph's SDL as it runs (served anonymously outside production), else none: the file's is used. */
async function accessSdl(url: string): Promise<{ sdl: string | null; source: LaunchedRouter["accessSdlSource"] }> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ _service { sdl } }" }),
      signal: AbortSignal.timeout(5000),
    });
    const body = (await response.json()) as { data?: { _service?: { sdl?: string } } };
    const sdl = body.data?._service?.sdl;
    if (sdl) return { sdl, source: "subgraph" };
  } catch {
    // Not running (yet), or not answering: the checked-in SDL describes the same schema.
  }
  return { sdl: null, source: "schema/access.graphql" };
}

/**
 * `hive-gateway supergraph <file> -c router/gateway.config.ts --port <port>`, in a process group of its own, so that
 * a terminal's Ctrl-C reaches it once, through the launcher, and it shuts down gracefully.
 */
function spawnGateway(supergraphFile: string, port: number, settings: RouterSettings): ChildProcess {
  // The CLI also reads PORT, HOST and CONFIG_PATH: the subgraph's PORT must not become the gateway's.
  const { PORT: _port, HOST: _host, CONFIG_PATH: _configPath, ...env } = process.env;
  return spawn(
    process.execPath,
    [HIVE_GATEWAY_BIN, "supergraph", supergraphFile, "--config-path", GATEWAY_CONFIG, "--port", String(port), "--host", "0.0.0.0"],
    {
      cwd: repositoryFile(),
      env: {
        ...env,
        ROUTER_SUBSCRIPTIONS: settings.subscriptions,
        ROUTER_CALLBACK_URL: settings.callbackUrl ?? `http://localhost:${port}/callback`,
        ROUTER_CALLBACK_HEARTBEAT_MS: String(settings.callbackHeartbeatMs ?? 5000),
      },
      stdio: settings.output === "keep" ? ["ignore", "pipe", "pipe"] : ["ignore", "inherit", "inherit"],
      detached: true,
    },
  );
}

/**
 * Waits until the gateway answers `{ __typename }`: it is listening, and it has loaded the supergraph (it does so
 * on its first request; graphql-ws subscriptions need it loaded).
 */
async function untilReady(endpoint: string, exited: Promise<number | NodeJS.Signals>, signal: AbortSignal | undefined): Promise<void> {
  let exit: number | NodeJS.Signals | undefined;
  void exited.then((code) => (exit = code));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exit !== undefined) throw new Error(`the gateway exited (${exit}) before it answered`);
    if (signal?.aborted) throw new Error("stopped before the gateway answered");
    try {
      const response = await fetch(endpoint, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ __typename }" }),
        signal: AbortSignal.timeout(2000),
      });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the gateway did not answer on ${endpoint} within ${READY_TIMEOUT_MS / 1000} s`);
}

/** A port free right now, from the operating system. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
