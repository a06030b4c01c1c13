import type { EntityManager } from "@mikro-orm/core";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { User } from "../../src/access/user.entity.js";
import { startService, type RunningService } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import type { Clock } from "../../src/clock.js";
import { totpCodeAt } from "../../src/confirmation/totp.js";
import { createLogger } from "../../src/logger.js";
import { createTestDatabase } from "./database.js";
import { createTestAccounts } from "./fixtures.js";

export const DEMO_PASSWORD = "demo-password-for-tests";
export const DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/**
 * The time, moved forward by hand as a test needs: one-time code steps, back-offs and locks pass without waiting,
 * and tokens still expire as time goes by.
 */
export class TestClock implements Clock {
  private offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  advance(ms: number): void {
    this.offset += ms;
  }
}

export interface TestServer {
  url: string;
  clock: TestClock;
  /** Starts another instance of the service on the same database, data directory and clock. */
  sibling(): Promise<RunningService>;
  /**
   * A correct step-up confirmation of the demo Owner (and of the other account's Owner, who has the same
   * password and TOTP secret): the clock first moves to the next 30-second step, so that each call gets a fresh
   * code, and the code is that step's. The service checks it a moment later, in the same step or (when a step
   * boundary passes meanwhile) the next, which the one-step window accepts.
   */
  confirmation(): { password: string; otp: string };
  service: RunningService;
  dataDir: string;
  /** Every log line the server wrote, at debug level and above. */
  logs: string[];
  /** A fresh entity manager on the server's database. */
  em(): EntityManager;
  /**
   * A valid bearer token for the user with that e-mail (first match), for 12 hours of the server's clock (as the
   * CLI's), so that tests may keep it while confirmations move the clock on.
   */
  token(email: string): Promise<string>;
  userId(email: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts the real service on port 0 with its own data directory (and its own PostgreSQL database when the suite
 * runs on PostgreSQL), seeded with the demo account and the test accounts of `fixtures.ts`.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  options: { testAccounts?: boolean } = {},
): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "access-test-"));
  const database = await createTestDatabase();
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    LOG_LEVEL: "debug",
    SEED_DEMO: "true",
    DEMO_PASSWORD,
    DEMO_TOTP_SECRET,
    ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
    ...env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const clock = new TestClock();
  const service = await startService(config, { logger: createLogger("debug", sink), clock });
  const em = () => service.db.orm.em.fork();
  if (options.testAccounts ?? true) {
    await createTestAccounts(em(), { box: service.box, password: DEMO_PASSWORD, totpSecret: DEMO_TOTP_SECRET });
  }
  const userId = async (email: string) => (await em().findOneOrFail(User, { email })).id;
  const siblings: RunningService[] = [];
  return {
    url: service.url,
    clock,
    async sibling() {
      const started = await startService(config, { logger: createLogger("debug", sink), clock });
      siblings.push(started);
      return started;
    },
    confirmation() {
      clock.advance(30_000);
      return { password: DEMO_PASSWORD, otp: totpCodeAt(DEMO_TOTP_SECRET, clock.now()) };
    },
    service,
    dataDir,
    logs,
    em,
    userId,
    token: async (email) => service.tokens.sign(await userId(email), 12 * 60 * 60),
    async close() {
      for (const sibling of siblings) await sibling.close();
      await service.close();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
