import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Account } from "../src/access/account.entity.js";
import { User } from "../src/access/user.entity.js";
import { AuditEntry } from "../src/audit/audit-entry.entity.js";
import { MasterKeyring, deriveKeys } from "../src/credentials/keys.js";
import { Invitation } from "../src/enrolment/invitation.entity.js";
import { Wallet } from "../src/wallets/wallet.entity.js";
import { BUILT_CLI } from "./support/built-server.js";
import { createTestDatabase, onPostgres } from "./support/database.js";
import { execute } from "./support/graphql-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

const MASTER_KEY = randomBytes(32).toString("base64");
const PRODUCTION = { NODE_ENV: "production", JWT_SECRET: randomBytes(32).toString("hex"), MASTER_KEY };

let server: TestServer;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  if (!fs.existsSync(BUILT_CLI)) throw new Error("run `npm run build` first (npm test does)");
  // Operators run the CLI on the host, beside a production service, with its configuration.
  server = await startTestServer({ ...PRODUCTION, SEED_DEMO: "", DEMO_PASSWORD: "", DEMO_TOTP_SECRET: "" }, { testAccounts: false });
  env = {
    PATH: process.env.PATH,
    ...PRODUCTION,
    DATA_DIR: server.dataDir,
    ...(server.service.config.databaseUrl ? { DATABASE_URL: server.service.config.databaseUrl } : {}),
  };
});
afterAll(() => server?.close());

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  lines: string[];
}

/** Runs the built CLI with `extraEnv` over the service's configuration; never throws on a non-zero exit. */
async function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BUILT_CLI, ...args], { env: { ...env, ...extraEnv } });
    return { code: 0, stdout, stderr, lines: stdout.trim().split("\n") };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr, lines: failure.stdout.trim().split("\n") };
  }
}

const field = (run: Run, label: string) => run.lines.find((line) => line.startsWith(`${label}:`))?.slice(label.length + 1).trim();
const hasher = deriveKeys(new MasterKeyring(Buffer.from(MASTER_KEY, "base64"))).secretHasher;

describe("the operator CLI (node dist/src/cli/main.js), in production mode", () => {
  let accountId: string;
  let ownerEmail: string;

  it("creates an account and its Owner, with the invitation token alone on the last line", async () => {
    ownerEmail = `owner-${randomBytes(3).toString("hex")}@cli.example`;
    const run = await cli(["account", "create", "--name", "CLI Merchant", "--owner-email", ownerEmail]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.lines[0]).toMatch(/^Done \(request key cli-[A-Za-z0-9_-]{16}: run again with --request-key cli-/);
    accountId = field(run, "Account")!;
    expect(accountId).toMatch(/^[0-9a-f-]{36}$/);
    const token = run.lines.at(-1)!;
    expect(token).toMatch(/^acs_inv_[A-Za-z0-9_-]{43}$/);

    const em = server.em();
    const owner = await em.findOneOrFail(User, { account: accountId, email: ownerEmail }, { populate: ["passwordHash"] });
    expect(field(run, "Owner")).toBe(`${ownerEmail} (user ${owner.id})`);
    expect([owner.isOwner, owner.kind, owner.passwordHash]).toEqual([true, "HUMAN", null]);
    // Hashed with the service's key: the service will recognise the token.
    expect((await em.find(Invitation, { user: owner.id })).map((invitation) => invitation.tokenHash)).toEqual([hasher.hash(token)]);
    const [entry] = await em.find(AuditEntry, { accountId });
    expect(entry).toMatchObject({ action: "CREATE_ACCOUNT", outcome: "SUCCESS", actorId: null, clientAddress: "cli" });
    expect(entry!.detail).toMatch(/^via cli, request key cli-/);
  });

  it("carries out a command run again with the same --request-key once, and refuses the key for another request", async () => {
    const key = `ops-${randomBytes(4).toString("hex")}`;
    const args = ["account", "create", "--name", "Keyed Merchant", "--owner-email", "keyed@cli.example", "--request-key", key];
    const first = await cli(args);
    expect(first.code).toBe(0);
    expect(first.lines.at(-1)).toMatch(/^acs_inv_/);
    const again = await cli(args);
    expect(again.code).toBe(0);
    expect(again.lines[0]).toBe(`Request key ${key} was carried out before: its answer again, nothing changed.`);
    expect(field(again, "Account")).toBe(field(first, "Account"));
    expect(again.stdout).not.toMatch(/acs_inv_/);
    expect(field(again, "Invitation")).toMatch(/not shown again.*account invite-owner --account/);
    expect(await server.em().count(Account, { name: "Keyed Merchant" })).toBe(1);

    const other = await cli(["account", "create", "--name", "Another Merchant", "--owner-email", "keyed@cli.example", "--request-key", key]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/^refused \(BAD_USER_INPUT\): The request key .* was used for another request/);
    expect(await server.em().count(Account, { name: "Another Merchant" })).toBe(0);
  });

  it("creates, updates and sets the balances of a wallet its Owner then sees", async () => {
    const walletId = `cli-${randomBytes(3).toString("hex")}`;
    const created = await cli([
      "wallet", "create", "--account", accountId, "--id", walletId, "--label", "ETH main",
      "--currency", "1002:ETH:Ethereum:18", "--type", "ENTERPRISE", "--confirmed", "1.5", "--pending=-0.25", "--json",
    ]);
    expect(created.stderr).toBe("");
    expect(JSON.parse(created.stdout)).toMatchObject({
      replayed: false,
      walletId,
      accountId,
      type: "ENTERPRISE",
      status: "ACTIVE",
      currency: { iso: 1002, alpha: "ETH", name: "Ethereum", exp: 18 },
      balances: { confirmed: "1.5", pending: "-0.25", unusable: "0" },
    });
    const updated = await cli(["wallet", "update", "--wallet", walletId, "--status", "IN_PROGRESS"]);
    expect(field(updated, "Type")).toBe("ENTERPRISE, status IN_PROGRESS");
    const set = await cli(["wallet", "set-balance", "--wallet", walletId, "--unusable", "0.000000000000000001"]);
    expect(field(set, "Balances")).toBe("confirmed 1.5, pending -0.25, unusable 0.000000000000000001");
    const tooFine = await cli(["wallet", "set-balance", "--wallet", walletId, "--confirmed", "0.0000000000000000001"]);
    expect(tooFine.code).toBe(1);
    expect(tooFine.stderr).toMatch(/^refused \(BAD_USER_INPUT\): balances\.confirmed has 19 decimals; the currency has 18/);

    const result = await execute<{ wallets: { edges: { node: Record<string, unknown> }[] } }, unknown>(
      server.url,
      "{ wallets { edges { node { id status type balanceConfirmed balancePending balanceUnusable } } } }",
      {},
      { token: await server.token(ownerEmail) },
    );
    expect(result.data?.wallets.edges.map((edge) => edge.node)).toEqual([
      { id: walletId, status: "IN_PROGRESS", type: "ENTERPRISE", balanceConfirmed: "1.5", balancePending: "-0.25", balanceUnusable: "0.000000000000000001" },
    ]);
    const entries = await server.em().find(AuditEntry, { accountId, walletId }, { orderBy: { id: "asc" } });
    expect(entries.map((entry) => [entry.action, entry.outcome, entry.clientAddress])).toEqual([
      ["CREATE_WALLET", "SUCCESS", "cli"],
      ["UPDATE_WALLET", "SUCCESS", "cli"],
      ["SET_WALLET_BALANCE", "SUCCESS", "cli"],
      ["SET_WALLET_BALANCE", "BAD_USER_INPUT", "cli"],
    ]);
    expect((await server.em().findOneOrFail(Wallet, walletId)).balanceConfirmed).toBe("1.5");
  });

  it("suspends and resumes the account, moving its access version each time", async () => {
    const suspended = await cli(["account", "suspend", "--account", accountId]);
    expect(field(suspended, "Suspended")).toMatch(/^\d{4}-\d\d-\d\dT/);
    let account = await server.em().findOneOrFail(Account, accountId);
    expect(account.suspendedAt?.toISOString()).toBe(field(suspended, "Suspended"));
    expect(account.accessVersion).toBe(1);
    const resumed = await cli(["account", "resume", "--account", accountId]);
    expect(field(resumed, "Suspended")).toBe("no");
    account = await server.em().findOneOrFail(Account, accountId);
    expect([account.suspendedAt, account.accessVersion]).toEqual([null, 2]);
  });

  it.each([
    [["account", "create", "--name", "No Owner"], /--owner-email is required/],
    [["account", "create", "--name", "X", "--owner-email", "x@cli.example", "--owner", "y"], /Unknown option '--owner'/],
    [["account", "close", "--account", "x"], /Unknown command account close/],
    [["wallet", "create", "--account", "x", "--id", "w", "--label", "l", "--currency", "BTC"], /--currency must be <iso>:<alpha>:<name>:<exp>/],
  ])("refuses %j with the usage", async (args, message) => {
    const run = await cli(args);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain("account create --name <name> --owner-email <e-mail>");
  });

  it("refuses an unknown account as NOT_FOUND", async () => {
    const run = await cli(["account", "suspend", "--account", "0b6f7c1e-3f7c-4c57-9d0e-5a4b0f1f2a3b"]);
    expect([run.code, run.stderr.trim()]).toEqual([1, "refused (NOT_FOUND): No account 0b6f7c1e-3f7c-4c57-9d0e-5a4b0f1f2a3b"]);
  });
});

describe("the operator CLI against a database the service has not prepared", () => {
  it.runIf(!onPostgres)("fails clearly without a database file, and creates none", async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "access-cli-"));
    try {
      const run = await cli(["account", "create", "--name", "Nowhere", "--owner-email", "n@cli.example"], { DATA_DIR: empty });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`no database at ${path.join(empty, "access.sqlite")}`);
      expect(fs.readdirSync(empty)).toEqual([]);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it.runIf(!onPostgres)("fails clearly on a database that was never migrated, and does not migrate it", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "access-cli-"));
    try {
      fs.writeFileSync(path.join(dir, "access.sqlite"), "", { mode: 0o600 });
      const run = await cli(["account", "create", "--name", "Nowhere", "--owner-email", "n@cli.example"], { DATA_DIR: dir });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/the database is not migrated to this version .*start the service of this version once/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(onPostgres)("fails clearly on a database that was never migrated, and does not migrate it", async () => {
    const database = await createTestDatabase();
    try {
      const run = await cli(["account", "create", "--name", "Nowhere", "--owner-email", "n@cli.example"], { DATABASE_URL: database.databaseUrl });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/the database is not migrated to this version .*start the service of this version once/);
      const client = new pg.Client({ connectionString: database.databaseUrl });
      await client.connect();
      try {
        const tables = await client.query("select table_name from information_schema.tables where table_schema = 'public'");
        expect(tables.rows).toEqual([]);
      } finally {
        await client.end();
      }
    } finally {
      await database.drop();
    }
  });

  it("refuses to run without the service's master key rather than make a new one", async () => {
    const run = await cli(["account", "create", "--name", "Nowhere", "--owner-email", "n@cli.example"], { NODE_ENV: "", MASTER_KEY: "", JWT_SECRET: "" });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`no MASTER_KEY and no ${path.join(server.dataDir, "master.key")}`);
    expect(fs.existsSync(path.join(server.dataDir, "master.key"))).toBe(false);
  });
});
