import type { EntityManager } from "@mikro-orm/core";
import type { SqlEntityManager } from "@mikro-orm/knex";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { systemClock } from "../clock.js";
import { loadConfig, type Config } from "../config.js";
import { deriveKeys, loadMasterKeyring, MASTER_KEY_FILE, type DerivedKeys } from "../credentials/keys.js";
import { migrationsFor } from "../db/migrations/index.js";
import { openDatabase, sqlitePath, type Database } from "../db/orm.js";
import { createLogger } from "../logger.js";
import type { CurrencyInput } from "../provisioning/provisioning-input.js";
import {
  createAccount,
  createWallet,
  inviteOwner,
  resumeAccount,
  setWalletBalance,
  suspendAccount,
  updateWallet,
  type AccountSuspension,
  type OwnerInvitationResult,
  type ProvisioningDependencies,
  type ProvisioningMeta,
  type Provisioned,
  type WalletView,
} from "../provisioning/provisioning.service.js";

export const PROVISIONING_USAGE = `Provisioning, the operator's commands (any set-up, production included; run with the service's configuration:
DATA_DIR or DATABASE_URL, MASTER_KEY; the service must have started once, as it migrates the database):
  account create --name <name> --owner-email <e-mail>
      Creates an account and its Owner; prints the ids, then the Owner's invitation token alone on the last line
      (shown once: hand it to the Owner, who sets a password with it).
  account invite-owner --account <account id>
      A new invitation for an Owner who has not set a password yet (the earlier ones stop working).
  account suspend --account <account id>
  account resume --account <account id>
  wallet create --account <account id> --id <wallet id> --label <label> --currency <iso>:<alpha>:<name>:<exp>
                [--type MERCHANT|ENTERPRISE|SWAP] [--status ACTIVE|IN_PROGRESS|NOT_ACTIVE]
                [--confirmed <decimal>] [--pending <decimal>] [--unusable <decimal>]
      e.g. --currency 1000:BTC:Bitcoin:8 (exp, the decimals amounts carry); defaults MERCHANT, ACTIVE, balances 0.
  wallet update --wallet <wallet id> [--label <label>] [--status <status>]
  wallet set-balance --wallet <wallet id> [--confirmed <decimal>] [--pending <decimal>] [--unusable <decimal>]
      A negative pending balance is written --pending=-0.015.
  Each also takes --request-key <key> (default a new one, printed): the same command with the same key is carried
  out once, so a command that may not have finished can be run again as is; and --json, to print the answer as JSON.`;

/** A refusal of the command line itself, shown with the usage. */
export class UsageError extends Error {
  override name = "UsageError";
}

const COMMON = { "request-key": { type: "string" }, json: { type: "boolean" } } as const;
const BALANCE_OPTIONS = { confirmed: { type: "string" }, pending: { type: "string" }, unusable: { type: "string" } } as const;

function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

/** `<iso>:<alpha>:<name>:<exp>`; the name may itself hold colons. */
function parseCurrency(text: string): CurrencyInput {
  const parts = text.split(":");
  if (parts.length < 4) throw new UsageError("--currency must be <iso>:<alpha>:<name>:<exp>, e.g. 1000:BTC:Bitcoin:8");
  const number = (value: string) => (/^\d{1,10}$/.test(value) ? Number(value) : Number.NaN);
  return { iso: number(parts[0]!), alpha: parts[1]!, name: parts.slice(2, -1).join(":"), exp: number(parts.at(-1)!) };
}

function balancesOf(values: Record<string, unknown>): Record<string, string> | undefined {
  const balances = Object.fromEntries(Object.keys(BALANCE_OPTIONS).flatMap((name) => (typeof values[name] === "string" ? [[name, values[name]]] : [])));
  return Object.keys(balances).length > 0 ? balances : undefined;
}

/**
 * Refuses a database the service has not migrated to this version (or migrated further), rather than migrating it
 * from here: the service's start is the one place migrations run. Only reads.
 */
async function requireMigrated(db: Database): Promise<void> {
  const known = migrationsFor(db.dialect).map((migration) => migration.name);
  let applied: string[];
  try {
    const rows = await (db.orm.em.fork() as SqlEntityManager).execute<{ name: string }[]>("select name from schema_migrations");
    applied = rows.map((row) => row.name);
  } catch {
    applied = [];
  }
  const missing = known.filter((name) => !applied.includes(name));
  if (missing.length > 0) {
    throw new Error(`the database is not migrated to this version (missing ${missing.join(", ")}): start the service of this version once, it applies its migrations`);
  }
  const unknown = applied.filter((name) => !known.includes(name));
  if (unknown.length > 0) throw new Error(`the database was migrated by a newer version (${unknown.join(", ")}): use that version's CLI`);
}

/**
 * Opens the service's database as the service has it, without creating it: a CLI pointed at the wrong place must
 * fail, not make an empty database. Refuses a database not migrated to this version.
 */
export async function withServiceDatabase<T>(action: (db: Database, config: Config) => Promise<T>): Promise<T> {
  const config: Config = loadConfig();
  if (!config.databaseUrl && !fs.existsSync(sqlitePath(config))) {
    throw new Error(`no database at ${sqlitePath(config)}: set DATA_DIR (or DATABASE_URL) as the service has it`);
  }
  const db = await openDatabase(config);
  try {
    await requireMigrated(db);
    return await action(db, config);
  } finally {
    await db.close();
  }
}

/**
 * The service's keys, as the service has them, without generating a key file (values sealed or hashed with a key
 * the service does not have would never work).
 */
export function serviceKeys(config: Config): DerivedKeys {
  if (!config.masterKey && !fs.existsSync(path.join(config.dataDir, MASTER_KEY_FILE))) {
    throw new Error(`no MASTER_KEY and no ${path.join(config.dataDir, MASTER_KEY_FILE)}: run with the service's MASTER_KEY or DATA_DIR`);
  }
  return deriveKeys(loadMasterKeyring(config));
}

/** Opens the service's database and keys, as the service has them, without creating either. */
async function withProvisioning<T>(action: (em: EntityManager, deps: ProvisioningDependencies) => Promise<T>): Promise<T> {
  return withServiceDatabase(async (db, config) => {
    const keys = serviceKeys(config);
    return action(db.orm.em.fork(), {
      hasher: keys.secretHasher,
      clock: systemClock,
      invitationTtlMs: config.invitationTtlSeconds * 1000,
      logger: createLogger("error", process.stderr),
    });
  });
}

type Printer<T> = (result: T, meta: ProvisioningMeta) => string[];

/** Runs one operation and prints its answer: as JSON with --json, else as lines for a person. */
async function run<T>(
  values: { "request-key"?: string; json?: boolean },
  operation: (em: EntityManager, deps: ProvisioningDependencies, meta: ProvisioningMeta) => Promise<Provisioned<T>>,
  print: Printer<T>,
): Promise<void> {
  const meta: ProvisioningMeta = {
    requestKey: values["request-key"] ?? `cli-${randomBytes(12).toString("base64url")}`,
    via: "cli",
    clientAddress: "cli",
  };
  const { result, replayed } = await withProvisioning((em, deps) => operation(em, deps, meta));
  if (values.json) {
    console.log(JSON.stringify({ requestKey: meta.requestKey, replayed, ...result }));
    return;
  }
  const lines = [
    replayed
      ? `Request key ${meta.requestKey} was carried out before: its answer again, nothing changed.`
      : `Done (request key ${meta.requestKey}: run again with --request-key ${meta.requestKey} to repeat it safely).`,
    ...print(result, meta),
  ];
  console.log(lines.join("\n"));
}

const printOwner: Printer<OwnerInvitationResult> = (result) => {
  const lines = [`Account:     ${result.accountId}`, `Owner:       ${result.ownerEmail} (user ${result.ownerUserId})`];
  if (!result.ownerInvitation) {
    return [...lines, `Invitation:  not shown again; for a new one: npm run cli -- account invite-owner --account ${result.accountId}`];
  }
  return [
    ...lines,
    `Invitation:  valid until ${new Date(result.ownerInvitation.expiresAt).toISOString()}; shown once, hand it to the Owner:`,
    result.ownerInvitation.token,
  ];
};

const printSuspension: Printer<AccountSuspension> = (result) => [
  `Account:     ${result.accountId}`,
  `Suspended:   ${result.suspendedAt ?? "no"}`,
];

const printWallet: Printer<WalletView> = (wallet) => [
  `Wallet:      ${wallet.walletId} "${wallet.label}" of account ${wallet.accountId}`,
  `Currency:    ${wallet.currency.alpha} (${wallet.currency.iso}, ${wallet.currency.name}, ${wallet.currency.exp} decimals)`,
  `Type:        ${wallet.type}, status ${wallet.status}`,
  `Balances:    confirmed ${wallet.balances.confirmed}, pending ${wallet.balances.pending}, unusable ${wallet.balances.unusable}`,
];

/** `account create | invite-owner | suspend | resume`. */
export async function accountCommand(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (action === "create") {
    const { values } = parseArgs({ args: rest, options: { ...COMMON, name: { type: "string" }, "owner-email": { type: "string" } } });
    const request = { name: required(values, "name"), ownerEmail: required(values, "owner-email") };
    await run(values, (em, deps, meta) => createAccount(em, deps, request, meta), printOwner);
    return;
  }
  const { values } = parseArgs({ args: rest, options: { ...COMMON, account: { type: "string" } } });
  if (!["invite-owner", "suspend", "resume"].includes(action ?? "")) throw new UsageError(`Unknown command account ${action ?? ""}`);
  const request = { accountId: required(values, "account") };
  if (action === "invite-owner") await run(values, (em, deps, meta) => inviteOwner(em, deps, request, meta), printOwner);
  else if (action === "suspend") await run(values, (em, deps, meta) => suspendAccount(em, deps, request, meta), printSuspension);
  else await run(values, (em, deps, meta) => resumeAccount(em, deps, request, meta), printSuspension);
}

/** `wallet create | update | set-balance`. */
export async function walletCommand(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (action === "create") {
    const { values } = parseArgs({
      args: rest,
      options: {
        ...COMMON,
        ...BALANCE_OPTIONS,
        account: { type: "string" },
        id: { type: "string" },
        label: { type: "string" },
        currency: { type: "string" },
        type: { type: "string" },
        status: { type: "string" },
      },
    });
    const request = {
      accountId: required(values, "account"),
      walletId: required(values, "id"),
      label: required(values, "label"),
      currency: parseCurrency(required(values, "currency")),
      type: values.type,
      status: values.status,
      balances: balancesOf(values),
    };
    // Checked by the service like any caller's request; the names here are as the operator typed them.
    await run(values, (em, deps, meta) => createWallet(em, deps, request as Parameters<typeof createWallet>[2], meta), printWallet);
  } else if (action === "update") {
    const { values } = parseArgs({ args: rest, options: { ...COMMON, wallet: { type: "string" }, label: { type: "string" }, status: { type: "string" } } });
    const request = { walletId: required(values, "wallet"), label: values.label, status: values.status };
    await run(values, (em, deps, meta) => updateWallet(em, deps, request as Parameters<typeof updateWallet>[2], meta), printWallet);
  } else if (action === "set-balance") {
    const { values } = parseArgs({ args: rest, options: { ...COMMON, ...BALANCE_OPTIONS, wallet: { type: "string" } } });
    const request = { walletId: required(values, "wallet"), balances: balancesOf(values) ?? {} };
    await run(values, (em, deps, meta) => setWalletBalance(em, deps, request, meta), printWallet);
  } else {
    throw new UsageError(`Unknown command wallet ${action ?? ""}`);
  }
}
