import "reflect-metadata";
import { User } from "../access/user.entity.js";
import { createTokenService } from "../auth/tokens.js";
import { ConfigError, loadConfig } from "../config.js";
import { openDatabase } from "../db/orm.js";

/** Lifetime of development tokens printed by `token`. */
const DEV_TOKEN_LIFETIME_SECONDS = 12 * 60 * 60;

const USAGE = `Usage: npm run cli -- <command>

Commands:
  token <email> [--account <account id>]
      Prints a bearer token for that user, alone on the last line (development signing key only).`;

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

async function token(args: string[]): Promise<void> {
  const email = args[0];
  if (!email) fail(USAGE);
  const accountFlag = args.indexOf("--account");
  const accountId = accountFlag >= 0 ? args[accountFlag + 1] : undefined;
  const config = loadConfig();
  const tokens = createTokenService(config);
  if (tokens.source !== "development-key") {
    fail("token only works with the development signing key: unset JWT_SECRET and JWT_JWKS_URL, or ask your identity provider");
  }
  const db = await openDatabase(config);
  try {
    const users = await db.orm.em.fork().find(User, {
      email: email.toLowerCase(),
      ...(accountId ? { account: accountId } : {}),
    });
    if (users.length === 0) fail(`No user ${email}${accountId ? ` in account ${accountId}` : ""} (has the service started once?)`);
    if (users.length > 1) fail(`${email} is a user of several accounts: add --account <account id>`);
    console.log(await tokens.sign(users[0]!.id, DEV_TOKEN_LIFETIME_SECONDS));
  } finally {
    await db.close();
  }
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === "token") await token(rest);
  else fail(USAGE);
} catch (error) {
  fail(error instanceof ConfigError ? error.message : `cli failed: ${error instanceof Error ? error.message : String(error)}`);
}
