import type { EntityManager } from "@mikro-orm/core";
import { randomBytes } from "node:crypto";
import { Account } from "../access/account.entity.js";
import { hashPassword } from "../access/password.js";
import { UserKind, WalletRole } from "../access/roles.js";
import { generateTotpSecret, normaliseTotpSecret, sealTotpSecret, totpUrl } from "../confirmation/totp.js";
import { User } from "../access/user.entity.js";
import { WalletAccess } from "../access/wallet-access.entity.js";
import type { SecretBox } from "../credentials/secret-box.js";
import { WalletStatus, WalletType } from "../wallets/wallet-enums.js";
import { Wallet } from "../wallets/wallet.entity.js";

export const DEMO_ACCOUNT_NAME = "Demo Merchant";
export const DEMO_OWNER_EMAIL = "owner@example.com";

/** Demo wallets with the platform's currency codes and realistic balances at each currency's precision. */
const DEMO_WALLETS = [
  {
    id: "10001",
    label: "ETH main",
    status: WalletStatus.ACTIVE,
    type: WalletType.MERCHANT,
    currency: { iso: 1002, alpha: "ETH", name: "Ethereum", exp: 18 },
    balanceConfirmed: "12.482310000000000000",
    balancePending: "0.300000000000000000",
    balanceUnusable: "0.000000000000000000",
  },
  {
    id: "10002",
    label: "BTC settlements",
    status: WalletStatus.ACTIVE,
    type: WalletType.MERCHANT,
    currency: { iso: 1000, alpha: "BTC", name: "Bitcoin", exp: 8 },
    balanceConfirmed: "0.84213977",
    balancePending: "-0.01500000",
    balanceUnusable: "0.00000000",
  },
  {
    id: "10003",
    label: "USDT payouts",
    status: WalletStatus.ACTIVE,
    type: WalletType.ENTERPRISE,
    currency: { iso: 2015, alpha: "USDT-ETH", name: "TetherUS", exp: 6 },
    balanceConfirmed: "25340.120000",
    balancePending: "0.000000",
    balanceUnusable: "125.000000",
  },
] as const;

export interface DemoSeedOptions {
  box: SecretBox;
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

/**
 * Creates the demo account when the database holds no account yet; returns null when there was one already.
 * Runs in one transaction: a failed seed leaves nothing behind.
 */
export async function seedDemoData(em: EntityManager, options: DemoSeedOptions): Promise<DemoSeedResult | null> {
  const totpSecret = options.totpSecret ? normaliseTotpSecret(options.totpSecret) : generateTotpSecret();
  const password = options.password ?? randomBytes(12).toString("base64url");
  const passwordHash = await hashPassword(password);

  return em.transactional(async (tx) => {
    if ((await tx.count(Account, {})) > 0) return null;
    const account = tx.create(Account, { name: DEMO_ACCOUNT_NAME });
    const owner = tx.create(User, { account, email: DEMO_OWNER_EMAIL, kind: UserKind.HUMAN, isOwner: true, passwordHash });
    owner.totpSecretEncrypted = sealTotpSecret(options.box, owner.id, totpSecret);
    const [eth, btc] = DEMO_WALLETS.map((wallet) => tx.create(Wallet, { ...wallet, currency: { ...wallet.currency }, account }));
    const ops = tx.create(User, { account, email: "ops@example.com" });
    const viewer = tx.create(User, { account, email: "viewer@example.com" });
    tx.create(WalletAccess, { user: ops, wallet: eth!, role: WalletRole.WITHDRAWALS_WITH_APPROVAL });
    tx.create(WalletAccess, { user: ops, wallet: btc!, role: WalletRole.WITHDRAWALS_WITH_APPROVAL });
    tx.create(WalletAccess, { user: viewer, wallet: eth!, role: WalletRole.READ_ONLY });
    return {
      ownerEmail: DEMO_OWNER_EMAIL,
      generatedPassword: options.password ? null : password,
      generatedTotpUrl: options.totpSecret ? null : totpUrl(DEMO_OWNER_EMAIL, totpSecret),
    };
  });
}
