import "reflect-metadata";
import { setTimeout as sleep } from "node:timers/promises";
import { User } from "../access/user.entity.js";
import { createTokenService } from "../auth/tokens.js";
import { systemClock } from "../clock.js";
import { ConfigError, loadConfig, type Config } from "../config.js";
import { ConfirmationState } from "../confirmation/confirmation-state.entity.js";
import { TOTP_PARAMETERS, openTotpSecret, totpCodeAt } from "../confirmation/totp.js";
import { deriveKeys, loadMasterKeyring } from "../credentials/keys.js";
import { openDatabase, type Database } from "../db/orm.js";
import { DomainError } from "../domain-error.js";
import { AUDIT_USAGE, auditCommand } from "./audit-commands.js";
import { BACKUP_USAGE, backupCommand, eventsCommand, restoreCommand } from "./backup-commands.js";
import { KEYS_USAGE, keysCommand } from "./keys-commands.js";
import { PROVISIONING_USAGE, UsageError, accountCommand, walletCommand } from "./provisioning-commands.js";
import { SEND_CALLBACK_USAGE, sendCallback } from "./send-callback.js";
import { WATCH_USAGE, watchEvents } from "./watch-events.js";

/** Lifetime of development tokens printed by `token`. */
const DEV_TOKEN_LIFETIME_SECONDS = 12 * 60 * 60;

const USAGE = `Usage: npm run cli -- <command>

Commands (development set-up only: the generated signing key, no JWT_SECRET or JWT_JWKS_URL):
  token <email> [--account <account id>]
      Prints a bearer token for that user, alone on the last line.
  otp <email> [--account <account id>]
      Prints the user's current one-time code, alone on the last line; waits for the next 30-second step when
      the current one was already used for a confirmation.

Commands for any set-up:
${SEND_CALLBACK_USAGE}
${WATCH_USAGE}

${PROVISIONING_USAGE}

${AUDIT_USAGE}

${BACKUP_USAGE}

${KEYS_USAGE}`;

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

/** Runs `action` with the development config, the open database and the user the arguments name. */
async function withDevelopmentUser(
  args: string[],
  action: (context: { config: Config; db: Database; user: User }) => Promise<void>,
): Promise<void> {
  const email = args[0];
  if (!email || email.startsWith("--")) fail(USAGE);
  const accountFlag = args.indexOf("--account");
  const accountId = accountFlag >= 0 ? args[accountFlag + 1] : undefined;
  const config = loadConfig();
  if (createTokenService(config, systemClock).source !== "development-key") {
    fail("This command only works with the development signing key: unset JWT_SECRET and JWT_JWKS_URL");
  }
  const db = await openDatabase(config);
  try {
    const users = await db.orm.em.fork().find(
      User,
      { email: email.toLowerCase(), ...(accountId ? { account: accountId } : {}) },
      { populate: ["totpSecretEncrypted"] },
    );
    if (users.length === 0) fail(`No user ${email}${accountId ? ` in account ${accountId}` : ""} (has the service started once?)`);
    if (users.length > 1) fail(`${email} is a user of several accounts: add --account <account id>`);
    await action({ config, db, user: users[0]! });
  } finally {
    await db.close();
  }
}

async function token(args: string[]): Promise<void> {
  await withDevelopmentUser(args, async ({ config, user }) => {
    console.log(await createTokenService(config, systemClock).sign(user.id, DEV_TOKEN_LIFETIME_SECONDS));
  });
}

async function otp(args: string[]): Promise<void> {
  await withDevelopmentUser(args, async ({ config, db, user }) => {
    if (!user.totpSecretEncrypted) fail(`${user.email} has no TOTP secret`);
    const secret = openTotpSecret(deriveKeys(loadMasterKeyring(config)).box, user.id, user.totpSecretEncrypted);
    const state = await db.orm.em.fork().findOne(ConfirmationState, { user: user.id });
    const stepMs = TOTP_PARAMETERS.period * 1000;
    const firstFreshStep = (state?.lastTotpStep ?? -1) + 1;
    const wait = firstFreshStep * stepMs - Date.now();
    if (wait > 0) {
      console.error(`The current code was already used; waiting ${Math.ceil(wait / 1000)} s for the next one...`);
      await sleep(wait + 50);
    }
    console.log(totpCodeAt(secret, Date.now()));
  });
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === "token") await token(rest);
  else if (command === "otp") await otp(rest);
  else if (command === "send-callback") await sendCallback(rest);
  else if (command === "watch-events") await watchEvents(rest);
  else if (command === "account") await accountCommand(rest);
  else if (command === "wallet") await walletCommand(rest);
  else if (command === "audit") await auditCommand(rest);
  else if (command === "backup") await backupCommand(rest);
  else if (command === "restore") await restoreCommand(rest);
  else if (command === "events") await eventsCommand(rest);
  else if (command === "keys") await keysCommand(rest);
  else fail(USAGE);
} catch (error) {
  if (error instanceof UsageError || (error as { code?: unknown }).code?.toString().startsWith("ERR_PARSE_ARGS")) {
    fail(`${(error as Error).message}\n\n${USAGE}`);
  }
  if (error instanceof DomainError) fail(`refused (${error.code}): ${error.message}`);
  fail(error instanceof ConfigError ? error.message : `cli failed: ${error instanceof Error ? error.message : String(error)}`);
}
