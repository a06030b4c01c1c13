import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** Chromium of the Debian packages; playwright-core drives it, and downloads no browser of its own. */
export const CHROMIUM = "/usr/bin/chromium";
/** What installs it, where the tests cannot. */
export const INSTALL_CHROMIUM = "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium";

/**
 * Flags for a closed network and a machine without a display: no sandbox (the tests run as root), no GPU, and none
 * of the browser's own traffic (updates, sync, QUIC probes), which would only fail here and slow it down.
 */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Installs Chromium from the Debian packages when it is missing and the tests run as root; otherwise says exactly
 * what to run. Takes a minute or two the first time.
 */
export function ensureChromium(): void {
  if (fs.existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0) throw new Error(`Chromium is missing (${CHROMIUM}); install it as root: ${INSTALL_CHROMIUM}`);
  try {
    execFileSync("sh", ["-c", INSTALL_CHROMIUM], { stdio: "pipe", timeout: 600_000 });
  } catch (error) {
    const output = (error as { stderr?: Buffer }).stderr?.toString().trim().split("\n").slice(-5).join("\n") ?? "";
    throw new Error(`Installing Chromium failed; run as root: ${INSTALL_CHROMIUM}\n${output}`, { cause: error });
  }
  if (!fs.existsSync(CHROMIUM)) throw new Error(`apt-get installed no ${CHROMIUM}; run as root: ${INSTALL_CHROMIUM}`);
}

/** Headless Chromium with a fresh profile of its own (playwright-core makes one per launch and removes it). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}
