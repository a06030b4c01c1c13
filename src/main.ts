import "reflect-metadata";
import { startService } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";
import type { DemoSeedResult } from "./db/demo-seed.js";

/** Shows the demo Owner's generated credentials once, on the terminal, outside the logs. */
function printDemoCredentials(result: DemoSeedResult): void {
  const lines = [
    "",
    "Demo account \"Demo Merchant\" created. Shown once, keep it now:",
    `  Owner:         ${result.ownerEmail}`,
    `  Password:      ${result.generatedPassword ?? "(from DEMO_PASSWORD)"}`,
    `  TOTP (2FA):    ${result.generatedTotpUrl ?? "(from DEMO_TOTP_SECRET)"}`,
    "  Bearer token:  npm run cli -- token owner@example.com",
    "",
  ];
  process.stdout.write(lines.join("\n") + "\n");
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`access-subgraph: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const service = await startService(config, { onDemoSeeded: printDemoCredentials });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    service.logger.info({ signal }, "shutting down");
    const force = setTimeout(() => {
      service.logger.error({ timeoutMs: config.shutdownTimeoutMs }, "shutdown took longer than SHUTDOWN_TIMEOUT_MS: exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        service.logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((error: unknown) => {
  process.stderr.write(`access-subgraph failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
