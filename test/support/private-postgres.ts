import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

/** A PostgreSQL server of the test's own, so that stopping it disturbs no other test. */
export interface PrivatePostgres {
  url: string;
  start(): void;
  /** Stops it the hard way, as a crash or an unplugged database host would. */
  stop(): void;
  destroy(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Starts one from the Debian server binaries when they and the postgres user are there (CI: yes), else null. */
export async function startPrivatePostgres(): Promise<PrivatePostgres | null> {
  const versions = fs.existsSync("/usr/lib/postgresql") ? fs.readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a)) : [];
  const bin = versions.map((version) => `/usr/lib/postgresql/${version}/bin`).find((dir) => fs.existsSync(`${dir}/pg_ctl`));
  if (!bin || process.getuid?.() !== 0) return null;
  let uid: number;
  try {
    uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  } catch {
    return null;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "access-pg-"));
  fs.chownSync(dir, uid, uid);
  const data = path.join(dir, "data");
  const port = await freePort();
  const asPostgres = (command: string) =>
    execFileSync("su", ["postgres", "-s", "/bin/sh", "-c", command], { stdio: "pipe" });
  asPostgres(`${bin}/initdb -D ${data} -A trust -U postgres >/dev/null`);
  const start = () =>
    asPostgres(`${bin}/pg_ctl -D ${data} -w -l ${dir}/log -o "-p ${port} -k ${dir} -c listen_addresses=127.0.0.1" start >/dev/null`);
  const stop = () => asPostgres(`${bin}/pg_ctl -D ${data} -w -m immediate stop >/dev/null`);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    destroy() {
      try {
        stop();
      } catch {
        // already stopped
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
