import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Account } from "../src/access/account.entity.js";
import { totpCodeAt } from "../src/confirmation/totp.js";
import {
  AcceptInvitationDocument,
  ConfirmAuthenticatorEnrolmentDocument,
  InviteByGrantDocument,
  RegenerateCallbackSecretDocument,
  StartAuthenticatorEnrolmentDocument,
} from "./generated/graphql.js";
import { BUILT_CLI } from "./support/built-server.js";
import { codes, execute } from "./support/graphql-client.js";
import { startIdentityProvider, type IdentityProvider } from "./support/identity-provider.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

// A fresh production-mode instance, from an empty database to a working account, through the operator CLI (a
// separate process on the service's configuration) and the API alone, its people signing in with an identity
// provider's tokens.

const MASTER_KEY = randomBytes(32).toString("base64");

let idp: IdentityProvider;
let server: TestServer;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  if (!fs.existsSync(BUILT_CLI)) throw new Error("run `npm run build` first (npm test does)");
  idp = await startIdentityProvider();
  const production = { NODE_ENV: "production", MASTER_KEY, ...idp.env };
  server = await startTestServer({ ...production, SEED_DEMO: "", DEMO_PASSWORD: "", DEMO_TOTP_SECRET: "" }, { testAccounts: false });
  env = {
    PATH: process.env.PATH,
    ...production,
    DATA_DIR: server.dataDir,
    ...(server.service.config.databaseUrl ? { DATABASE_URL: server.service.config.databaseUrl } : {}),
  };
});
afterAll(async () => {
  await server?.close();
  await idp?.close();
});

/** The built CLI's output lines; fails the test on a non-zero exit. */
async function cli(...args: string[]): Promise<string[]> {
  const { stdout } = await promisify(execFile)(process.execPath, [BUILT_CLI, ...args], { env });
  return stdout.trim().split("\n");
}

const field = (lines: string[], label: string) => lines.find((line) => line.startsWith(`${label}:`))?.slice(label.length + 1).trim();

/** A person: a subject at the identity provider, the password they choose, and their authenticator's secret. */
interface Person {
  subject: string;
  email: string;
  password: string;
  totpSecret?: string;
  token(): Promise<string>;
}

function person(name: string): Person {
  const subject = `idp|${name}-${randomBytes(4).toString("hex")}`;
  return {
    subject,
    email: `${name}@acme.example`,
    password: `${name}-password-${randomBytes(6).toString("hex")}`,
    token: () => idp.sign(subject, { email: `${name}@acme.example` }, server.clock.now()),
  };
}

/** Password and a fresh code of the person's authenticator: the clock moves to the next step first. */
function confirmation(who: Person) {
  server.clock.advance(30_000);
  return { password: who.password, otp: totpCodeAt(who.totpSecret!, server.clock.now()) };
}

/** Accepts an invitation with the person's provider token, then turns on an authenticator. */
async function enrol(who: Person, invitation: string): Promise<string[]> {
  const accepted = await execute(server.url, AcceptInvitationDocument, { input: { token: invitation, password: who.password } }, { token: await who.token() });
  expect(accepted.errors).toBeUndefined();
  expect(accepted.data!.acceptInvitation).toMatchObject({ email: who.email, identityLinked: true });

  const started = await execute(server.url, StartAuthenticatorEnrolmentDocument, { input: {} }, { token: await who.token() });
  expect(started.errors).toBeUndefined();
  expect(started.data!.startAuthenticatorEnrolment.otpauthUrl).toMatch(/^otpauth:\/\/totp\//);
  who.totpSecret = started.data!.startAuthenticatorEnrolment.secret;
  const code = totpCodeAt(who.totpSecret, server.clock.now());
  const confirmed = await execute(server.url, ConfirmAuthenticatorEnrolmentDocument, { input: { otp: code } }, { token: await who.token() });
  expect(confirmed.errors).toBeUndefined();
  server.clock.advance(30_000);
  return confirmed.data!.confirmAuthenticatorEnrolment.recoveryCodes;
}

describe("from an empty production database to a working account, through the CLI and the API", () => {
  const owner = person("owner");
  const clerk = person("clerk");
  let accountId: string;
  let ownerInvitation: string;
  const walletId = `7${randomBytes(3).readUIntBE(0, 3)}`;

  it("starts empty, and the provider's tokens name nobody", async () => {
    expect(await server.em().count(Account, {})).toBe(0);
    const me = await execute(server.url, "{ me { user { email } } }", {}, { token: await owner.token() });
    expect(codes(me)).toEqual(["UNAUTHENTICATED"]);
  });

  it("the operator creates the account with its Owner, and a wallet (the CLI)", async () => {
    const created = await cli("account", "create", "--name", "Acme Payments", "--owner-email", owner.email);
    accountId = field(created, "Account")!;
    ownerInvitation = created.at(-1)!;
    expect(ownerInvitation).toMatch(/^acs_inv_/);
    await cli("wallet", "create", "--account", accountId, "--id", walletId, "--label", "Acme ETH", "--currency", "1002:ETH:Ethereum:18");
    await cli("wallet", "set-balance", "--wallet", walletId, "--confirmed", "1.250000000000000000");
  });

  it("the Owner accepts the invitation with the provider's token, and cannot confirm anything before turning on 2FA", async () => {
    const accepted = await execute(
      server.url,
      AcceptInvitationDocument,
      { input: { token: ownerInvitation, password: owner.password } },
      { token: await owner.token() },
    );
    expect(accepted.data!.acceptInvitation).toMatchObject({ email: owner.email, identityLinked: true });
    const wallets = await execute(server.url, "{ wallets { edges { node { id balanceConfirmed } } } }", {}, { token: await owner.token() });
    expect(wallets.data).toEqual({ wallets: { edges: [{ node: { id: walletId, balanceConfirmed: "1.250000000000000000" } }] } });

    const early = await execute(
      server.url,
      RegenerateCallbackSecretDocument,
      { input: { confirmation: { password: owner.password, otp: "123456" } } },
      { token: await owner.token() },
    );
    expect(codes(early)).toEqual(["ENROLMENT_REQUIRED"]);
    expect(early.errors![0]!.extensions).toMatchObject({ missing: "authenticator" });
  });

  it("the Owner turns on the authenticator and gets recovery codes once", async () => {
    const started = await execute(server.url, StartAuthenticatorEnrolmentDocument, { input: {} }, { token: await owner.token() });
    owner.totpSecret = started.data!.startAuthenticatorEnrolment.secret;
    const wrong = await execute(server.url, ConfirmAuthenticatorEnrolmentDocument, { input: { otp: "000000" } }, { token: await owner.token() });
    expect(wrong.errors).toBeDefined();
    const confirmed = await execute(
      server.url,
      ConfirmAuthenticatorEnrolmentDocument,
      { input: { otp: totpCodeAt(owner.totpSecret, server.clock.now()) } },
      { token: await owner.token() },
    );
    expect(confirmed.data!.confirmAuthenticatorEnrolment.recoveryCodes).toHaveLength(10);
    server.clock.advance(30_000);
  });

  it("the Owner invites a second person by granting a wallet; they set a password and enrol", async () => {
    const granted = await execute(
      server.url,
      InviteByGrantDocument,
      { input: { email: clerk.email, walletId, role: "READ_ONLY" } },
      { token: await owner.token() },
    );
    expect(granted.errors).toBeUndefined();
    const invitation = granted.data!.grantWalletAccess.invitation!.token;
    // An e-mail claim alone names nobody: the clerk's token works only once their invitation links it.
    expect(codes(await execute(server.url, "{ me { user { email } } }", {}, { token: await clerk.token() }))).toEqual(["UNAUTHENTICATED"]);
    expect(await enrol(clerk, invitation)).toHaveLength(10);
    const me = await execute(server.url, "{ me { user { email } } wallets { edges { node { id } } } }", {}, { token: await clerk.token() });
    expect(me.data).toEqual({ me: { user: { email: clerk.email } }, wallets: { edges: [{ node: { id: walletId } }] } });
  });

  it("the Owner regenerates the callback secret with password and code", async () => {
    const regenerated = await execute(
      server.url,
      RegenerateCallbackSecretDocument,
      { input: { confirmation: confirmation(owner) } },
      { token: await owner.token() },
    );
    expect(regenerated.errors).toBeUndefined();
    expect(regenerated.data!.regenerateCallbackSecret.callbackSecret).toMatch(/^acs_whsec_/);
  });

  it("the operator suspends the account: its people are refused until it is resumed (the CLI)", async () => {
    await cli("account", "suspend", "--account", accountId);
    expect(codes(await execute(server.url, "{ me { user { email } } }", {}, { token: await clerk.token() }))).toEqual(["ACCOUNT_SUSPENDED"]);
    await cli("account", "resume", "--account", accountId);
    const me = await execute(server.url, "{ me { user { email } } }", {}, { token: await clerk.token() });
    expect(me.data).toEqual({ me: { user: { email: clerk.email } } });
  });
});
