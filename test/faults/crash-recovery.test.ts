import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { totpCodeAt } from "../../src/confirmation/totp.js";
import { RegenerateCallbackSecretDocument } from "../generated/graphql.js";
import { BUILT_CLI, demoServerEnv, startBuiltServer, type BuiltServer } from "../support/built-server.js";
import { depositCallback, postCallbackOrFail, storedTrackingIds } from "../support/callbacks.js";
import { createTestDatabase } from "../support/database.js";
import { execute } from "../support/graphql-client.js";
import { DEMO_PASSWORD, DEMO_TOTP_SECRET } from "../support/test-server.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Starts the built server (killed at the end if still running) and resolves once it listens. */
async function startBuilt(env: NodeJS.ProcessEnv): Promise<BuiltServer> {
  const server = await startBuiltServer(env);
  cleanups.push(() => void (server.child.exitCode === null && server.child.kill("SIGKILL")));
  return server;
}


describe("the process killed (kill -9) while callbacks stream in", () => {
  it("keeps every callback that got a 200 exactly once, and the sender's retries create no duplicates", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "access-crash-"));
    const database = await createTestDatabase();
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }), () => database.drop());
    const env = demoServerEnv(dataDir, database.databaseUrl);
    const first = await startBuilt(env);
    const cli = (...args: string[]) =>
      promisify(execFile)(process.execPath, [BUILT_CLI, ...args], { env }).then((out) =>
        out.stdout.trim().split("\n").at(-1)!,
      );
    const token = await cli("token", "owner@example.com");
    const regenerated = await execute(
      first.url,
      RegenerateCallbackSecretDocument,
      { input: { confirmation: { password: DEMO_PASSWORD, otp: totpCodeAt(DEMO_TOTP_SECRET, Date.now()) } } },
      { token },
    );
    const secret = regenerated.data!.regenerateCallbackSecret.callbackSecret;

    const total = 400;
    const bodies = Array.from({ length: total }, (_, index) => depositCallback(secret, { trackingId: `r2-${index}` }));
    const outcome: (number | "failed" | undefined)[] = Array(total);
    let next = 0;
    let answered = 0;
    const killed = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (answered >= 120) {
          clearInterval(check);
          first.child.kill("SIGKILL");
          resolve();
        }
      }, 1);
    });
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < total) {
          const index = next++;
          outcome[index] = await postCallbackOrFail(first.url, bodies[index]);
          answered += 1;
        }
      }),
    );
    await killed;
    const accepted = outcome.flatMap((status, index) => (status === 200 ? [`r2-${index}`] : []));
    expect(accepted.length).toBeGreaterThanOrEqual(120);
    expect(outcome.filter((status) => status !== 200).length).toBeGreaterThan(0);
    expect(outcome.every((status) => status === 200 || status === "failed")).toBe(true);

    const second = await startBuilt(env);
    const stored = () => storedTrackingIds(second.url, token);
    const afterCrash = await stored();
    for (const trackingId of accepted) expect(afterCrash.filter((id) => id === trackingId)).toHaveLength(1);
    expect(new Set(afterCrash).size).toBe(afterCrash.length);

    // The sender retries everything it did not get a 200 for (and, being at-least-once, some that it did).
    for (let index = 0; index < total; index++) {
      if (outcome[index] !== 200 || index % 10 === 0) expect(await postCallbackOrFail(second.url, bodies[index])).toBe(200);
    }
    const afterRetries = await stored();
    expect(afterRetries).toHaveLength(total);
    expect(new Set(afterRetries).size).toBe(total);
    second.child.kill("SIGTERM");
  }, 120_000);
});
