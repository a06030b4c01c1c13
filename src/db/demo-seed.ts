import type { EntityManager } from "@mikro-orm/core";
import { randomBytes } from "node:crypto";
import { grantWalletAccess } from "../access/access.service.js";
import { Account } from "../access/account.entity.js";
import { WalletRole } from "../access/roles.js";
import { loadViewer, type Viewer } from "../access/viewer.js";
import { statementsOf } from "./statement.js";
import type { OperationContext } from "../audit/audited-operation.js";
import type { StepUpDependencies } from "../confirmation/step-up.js";
import { generateTotpSecret, normaliseTotpSecret, totpCodeAt, totpUrl, TOTP_PARAMETERS } from "../confirmation/totp.js";
import { confirmAuthenticatorEnrolment, startAuthenticatorEnrolment } from "../enrolment/enrolment.service.js";
import { acceptInvitation, invitationFailureLimiter, type InvitationDependencies } from "../enrolment/invitations.js";
import type { Logger } from "../logger.js";
import { createAccount, createWallet, type ProvisioningMeta } from "../provisioning/provisioning.service.js";

export const DEMO_ACCOUNT_NAME = "Demo Merchant";
export const DEMO_OWNER_EMAIL = "owner@example.com";

/** Demo wallets with the platform's currency codes and realistic balances at each currency's precision. */
const DEMO_WALLETS = [
  {
    walletId: "10001",
    label: "ETH main",
    type: "MERCHANT",
    currency: { iso: 1002, alpha: "ETH", name: "Ethereum", exp: 18 },
    balances: { confirmed: "12.482310000000000000", pending: "0.300000000000000000", unusable: "0.000000000000000000" },
  },
  {
    walletId: "10002",
    label: "BTC settlements",
    type: "MERCHANT",
    currency: { iso: 1000, alpha: "BTC", name: "Bitcoin", exp: 8 },
    balances: { confirmed: "0.84213977", pending: "-0.01500000", unusable: "0.00000000" },
  },
  {
    walletId: "10003",
    label: "USDT payouts",
    type: "ENTERPRISE",
    currency: { iso: 2015, alpha: "USDT-ETH", name: "TetherUS", exp: 6 },
    balances: { confirmed: "25340.120000", pending: "0.000000", unusable: "125.000000" },
  },
] as const;

/** The demo's people besides the Owner, invited by the Owner's grants (they accept their invitations themselves). */
const DEMO_GRANTS = [
  { email: "ops@example.com", walletId: "10001", role: WalletRole.WITHDRAWALS_WITH_APPROVAL },
  { email: "ops@example.com", walletId: "10002", role: WalletRole.WITHDRAWALS_WITH_APPROVAL },
  { email: "viewer@example.com", walletId: "10001", role: WalletRole.READ_ONLY },
] as const;

export interface DemoSeedOptions {
  /** The service's confirmation dependencies: its clock, its box (TOTP secrets) and hasher (tokens, codes). */
  stepUp: StepUpDependencies;
  /** How long invitations stay valid, in milliseconds. */
  invitationTtlMs: number;
  logger: Pick<Logger, "error">;
  /** The Owner's password; generated when absent. */
  password?: string;
  /** The Owner's TOTP secret (base32); generated when absent. */
  totpSecret?: string;
}

/** What a first seed made, for the operator to see once. Generated values only; given ones are not echoed. */
export interface DemoSeedResult {
  ownerEmail: string;
  generatedPassword: string | null;
  /** otpauth:// URL of a generated TOTP secret. */
  generatedTotpUrl: string | null;
}

/** Every seed step is recorded as coming from here (audit entries, provisioning requests). */
const SEED_ADDRESS = "demo-seed";

/**
 * Creates the demo account when the database holds no account yet; returns null when there was one already. It
 * goes the way a real merchant does: provisioning creates the account, its Owner and its wallets; the Owner accepts
 * the invitation (setting the password) and turns on the authenticator; the Owner's grants invite the other people.
 * Each step is its own transaction, as in production; a step that fails fails the start.
 */
export async function seedDemoData(em: () => EntityManager, options: DemoSeedOptions): Promise<DemoSeedResult | null> {
  if ((await em().count(Account, {})) > 0) return null;
  const { stepUp, logger } = options;
  const { clock, hasher } = stepUp;
  const totpSecret = options.totpSecret ? normaliseTotpSecret(options.totpSecret) : generateTotpSecret();
  const password = options.password ?? randomBytes(12).toString("base64url");
  const invitations: InvitationDependencies = { hasher, clock, ttlMs: options.invitationTtlMs };
  const meta = (step: string): ProvisioningMeta => ({ requestKey: `demo-seed:${step}`, via: "cli", clientAddress: SEED_ADDRESS });
  const provisioning = { hasher, clock, invitationTtlMs: options.invitationTtlMs, logger };

  const { result: account } = await createAccount(em(), provisioning, { name: DEMO_ACCOUNT_NAME, ownerEmail: DEMO_OWNER_EMAIL }, meta("account"));
  for (const wallet of DEMO_WALLETS) {
    await createWallet(em(), provisioning, { ...wallet, accountId: account.accountId }, meta(`wallet:${wallet.walletId}`));
  }
  await acceptInvitation(
    em(),
    { hasher, clock, failures: invitationFailureLimiter(clock) },
    { token: account.ownerInvitation!.token, password, identity: null, clientAddress: SEED_ADDRESS, logger },
  );

  const owner = (await loadViewer(statementsOf(em()), account.ownerUserId)) as Viewer;
  const context = (): OperationContext & { stepUp: StepUpDependencies } => ({ em: em(), viewer: owner, clientAddress: SEED_ADDRESS, logger, stepUp });
  await startAuthenticatorEnrolment(context(), { secret: totpSecret });
  // Confirmed with the code of the step before, which the enrolment then counts as used: the current step's code
  // stays fresh for the Owner's first confirmation.
  const previousStep = clock.now() - TOTP_PARAMETERS.period * 1000;
  await confirmAuthenticatorEnrolment(context(), { otp: totpCodeAt(totpSecret, previousStep) });
  for (const grant of DEMO_GRANTS) {
    await grantWalletAccess(context(), grant, invitations);
  }
  return {
    ownerEmail: DEMO_OWNER_EMAIL,
    generatedPassword: options.password ? null : password,
    generatedTotpUrl: options.totpSecret ? null : totpUrl(DEMO_OWNER_EMAIL, totpSecret),
  };
}
