import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { DEMO_PASSWORD, DEMO_TOTP_SECRET } from "./test-server.js";

const root = path.resolve(import.meta.dirname, "../..");
/** The built server's entry point (`npm test` builds first). */
export const BUILT_ENTRY = path.join(root, "dist/src/main.js");
/** The built CLI. */
export const BUILT_CLI = path.join(root, "dist/src/cli/main.js");

export interface BuiltServer {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote on stdout so far. */
  stdout(): string;
  /** The process's resident memory, from /proc. */
  rssBytes(): number;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * The environment of a built server on port 0 of 127.0.0.1 with its own data directory (and database, on
 * PostgreSQL), seeded with the demo account whose Owner has the tests' password and TOTP secret.
 */
export function demoServerEnv(dataDir: string, databaseUrl?: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    SEED_DEMO: "true",
    DEMO_PASSWORD,
    DEMO_TOTP_SECRET,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  };
}

/** Starts `node dist/src/main.js` with exactly `env` (and PATH), and waits until it logs the port it listens on. */
export async function startBuiltServer(env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<BuiltServer> {
  if (!fs.existsSync(BUILT_ENTRY)) throw new Error("run `npm run build` first (npm test does)");
  const child = spawn(process.execPath, [BUILT_ENTRY], { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += String(chunk)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${stdout}`)), timeoutMs);
    child.stdout!.on("data", (chunk) => {
      stdout += String(chunk);
      const line = stdout.split("\n").find((text) => text.includes('"msg":"access-subgraph listening"'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line).port);
      }
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}:\n${stdout}${stderr}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    stdout: () => stdout,
    rssBytes: () => Number(/^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${child.pid}/status`, "utf8"))![1]) * 1024,
    stop() {
      if (child.exitCode !== null) return Promise.resolve(child.exitCode);
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      return exited;
    },
  };
}
