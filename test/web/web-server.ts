import { spawn } from "node:child_process";
import { stripVTControlCharacters } from "node:util";
import { repositoryFile } from "../../router/repository.js";

export interface WebServer {
  /** The page's origin, as a person opens it (`http://localhost:<WEB_PORT>`). */
  url: string;
  /** Everything `npm run web` wrote so far. */
  output(): string;
  /** Stops the server and the processes it started (its process group). */
  stop(): Promise<void>;
}

/**
 * `npm run web` as the README runs it (build, then serve on `WEB_PORT`), with the router's URL from `env`. Its
 * `preweb` codegen is skipped: `npm test` generated the operations first, and other test files read them.
 */
export async function startWebServer(env: Record<string, string>, timeoutMs = 120_000): Promise<WebServer> {
  // As from a person's shell: not with the test runner's NODE_ENV.
  const { NODE_ENV: _nodeEnv, ...inherited } = process.env;
  const child = spawn("npm", ["run", "--silent", "--ignore-scripts", "web"], {
    cwd: repositoryFile(),
    env: { ...inherited, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += String(chunk)));
  child.stderr!.on("data", (chunk) => (output += String(chunk)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(-child.pid!, "SIGTERM");
    const killer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 10_000);
    await exited;
    clearTimeout(killer);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const listening = /Local:\s+http:\/\/[^:]+:(\d+)\//.exec(stripVTControlCharacters(output));
    if (listening) return { url: `http://localhost:${listening[1]}`, output: () => output, stop };
    if (child.exitCode !== null) throw new Error(`npm run web exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`npm run web did not serve within ${timeoutMs / 1000} s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
