import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";

const SCRIPT = path.join(import.meta.dirname, "stalling-proxy.mjs");

/** A TCP proxy in a process of its own that can stop forwarding while it keeps every connection open. */
export interface StallingProxy {
  host: string;
  port: number;
  /** Stops forwarding in both directions; resolves once it took effect. */
  stall(): Promise<void>;
  /** Forwards again, what waited meanwhile included. */
  resume(): Promise<void>;
  /** The client connections open through the proxy. */
  connections(): Promise<number>;
  /** Ends the proxy's process (and with it every connection through it). */
  close(): Promise<void>;
}

/** Starts `stalling-proxy.mjs` in front of `host:port`. */
export async function startStallingProxy(target: { host: string; port: number }): Promise<StallingProxy> {
  const child: ChildProcess = fork(SCRIPT, [target.host, String(target.port)], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (message) => resolve((message as { port: number }).port));
    child.once("exit", (code) => reject(new Error(`the proxy exited with ${code}`)));
  });
  const command = (name: string) =>
    new Promise<{ connections: number }>((resolve, reject) => {
      const answer = (message: unknown) => {
        if ((message as { done?: string }).done !== name) return;
        child.off("message", answer);
        resolve(message as { connections: number });
      };
      child.on("message", answer);
      if (!child.send(name)) reject(new Error("the proxy is gone"));
    });
  return {
    host: "127.0.0.1",
    port,
    stall: async () => void (await command("stall")),
    resume: async () => void (await command("resume")),
    connections: async () => (await command("count")).connections,
    close() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      return exited;
    },
  };
}

/** The same database as `databaseUrl`, reached through the proxy. */
export function throughProxy(databaseUrl: string, proxy: Pick<StallingProxy, "host" | "port">): string {
  const url = new URL(databaseUrl);
  url.hostname = proxy.host;
  url.port = String(proxy.port);
  return url.toString();
}
