import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, launchRouter } from "../../router/launch-router.js";
import { repositoryFile } from "../../router/repository.js";
import { codes, execute } from "../support/graphql-client.js";
import { DEMO_WALLETS } from "../support/fixtures.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

/**
 * `npm run router` as a person runs it, against a running subgraph: it compiles the launcher, composes, starts
 * the deposits subgraph and the gateway, answers, and SIGTERM to npm alone stops every process it started.
 */
let server: TestServer;
let npm: ChildProcess | undefined;
/** The processes `npm run router` started, once it is ready. */
let processes: number[] = [];

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  // A failed test may leave some of them running: end those, and nothing else.
  const started = npm?.pid && alive(npm.pid) ? [npm.pid, ...descendants(npm.pid), ...processes] : processes;
  for (const pid of new Set(started.filter(alive))) process.kill(pid, "SIGKILL");
  await server?.close();
});

/** Every process below `pid`, from /proc (Linux). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    // "pid (command) state ppid ...": the command may hold spaces and parentheses.
    const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  for (let queue = [pid]; queue.length > 0; ) {
    const next = children.get(queue.shift()!) ?? [];
    found.push(...next);
    queue.push(...next);
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("npm run router", () => {
  it("starts the router in front of the running subgraph, serves both subgraphs, and SIGTERM stops all it started", async () => {
    const routerPort = await freePort();
    const depositsPort = await freePort();
    const started = Date.now();
    npm = spawn("npm", ["run", "--silent", "router"], {
      cwd: repositoryFile(),
      env: { ...process.env, ROUTER_PORT: String(routerPort), DEPOSITS_PORT: String(depositsPort), ACCESS_SUBGRAPH_URL: `${server.url}/graphql` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    npm.stdout!.on("data", (chunk) => (output += String(chunk)));
    npm.stderr!.on("data", (chunk) => (output += String(chunk)));
    const exited = new Promise<number | null>((resolve) => npm!.once("exit", (code) => resolve(code)));

    // Compiling the launcher comes first: a generous deadline.
    while (!output.includes("Router ready: ")) {
      if (npm.exitCode !== null) throw new Error(`npm run router exited with ${npm.exitCode}:\n${output}`);
      if (Date.now() - started > 90_000) throw new Error(`npm run router did not get ready:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(output).toContain(`Router ready: http://localhost:${routerPort}/graphql (subscriptions to the access subgraph over graphql-ws)`);
    expect(output).toContain(`access subgraph ${server.url}/graphql: SDL from the subgraph`);

    const result = await execute(`http://localhost:${routerPort}`, "{ wallets { edges { node { id label deposits { id } } } } }", {}, {
      token: await server.token("viewer@example.com"),
    });
    expect(result.data).toEqual({ wallets: { edges: [{ node: { id: DEMO_WALLETS.ETH, label: "ETH main", deposits: [{ id: "d-1" }, { id: "d-3" }] } }] } });

    // npm, the launcher, and the gateway beneath it.
    processes = [npm.pid!, ...descendants(npm.pid!)];
    expect(processes.length).toBeGreaterThanOrEqual(3);
    npm.kill("SIGTERM");
    await exited;
    const until = Date.now() + 20_000;
    while (processes.some(alive) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(processes.filter(alive)).toEqual([]);
    // Nothing listens any more on the ports it served.
    for (const port of [routerPort, depositsPort]) {
      await expect(fetch(`http://localhost:${port}/graphql`, { method: "POST" })).rejects.toThrow();
    }
  });
});

describe("with --access-only", () => {
  it("composes this subgraph alone: its fields are served, the deposits subgraph's are unknown", async () => {
    const router = await launchRouter({ port: 0, accessUrl: `${server.url}/graphql`, depositsPort: null, subscriptions: "ws", output: "keep", log: () => {} });
    try {
      const token = await server.token("viewer@example.com");
      expect(router.depositsUrl).toBeNull();
      expect((await execute(router.url, "{ wallets { edges { node { id } } } }", {}, { token })).data).toEqual({
        wallets: { edges: [{ node: { id: DEMO_WALLETS.ETH } }] },
      });
      expect(codes(await execute(router.url, "{ recentDeposits { id } }", {}, { token }))).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    } finally {
      await router.stop();
    }
  });
});
