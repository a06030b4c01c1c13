import type { EntityManager } from "@mikro-orm/core";
import { Account } from "../../src/access/account.entity.js";
import { hashPassword } from "../../src/access/password.js";
import { WalletRole } from "../../src/access/roles.js";
import { User } from "../../src/access/user.entity.js";
import { WalletAccess } from "../../src/access/wallet-access.entity.js";
import { sealTotpSecret } from "../../src/confirmation/totp.js";
import type { SecretBox } from "../../src/credentials/secret-box.js";
import { WalletStatus, WalletType } from "../../src/wallets/wallet-enums.js";
import { Wallet } from "../../src/wallets/wallet.entity.js";

/** The demo account's wallet ids (see `src/db/demo-seed.ts`). */
export const DEMO_WALLETS = { ETH: "10001", BTC: "10002", USDT: "10003" } as const;
/** The second account's single wallet. */
export const OTHER_WALLET = "20001";
/** Every user of the demo account (with `createTestAccounts`'s ADMIN) and of the second account, by e-mail. */
export const TEST_USERS = [
  "owner@example.com",
  "admin@example.com",
  "ops@example.com",
  "viewer@example.com",
  "other-owner@example.com",
  "other-reader@example.com",
] as const;

/**
 * Test users beside the demo seed: an ADMIN of the demo account (ADMIN on the USDT wallet), and a second merchant
 * account with its own Owner (same password and TOTP secret as the demo Owner), a read-only user and one wallet.
 */
export async function createTestAccounts(
  em: EntityManager,
  secrets: { box: SecretBox; password: string; totpSecret: string },
): Promise<void> {
  const passwordHash = await hashPassword(secrets.password);
  await em.transactional(async (tx) => {
    const demo = await tx.findOneOrFail(Account, { name: "Demo Merchant" });
    const admin = tx.create(User, { account: demo, email: "admin@example.com" });
    tx.create(WalletAccess, { user: admin, wallet: DEMO_WALLETS.USDT, role: WalletRole.ADMIN });

    const account = tx.create(Account, { name: "Other Merchant" });
    const otherOwner = tx.create(User, { account, email: "other-owner@example.com", isOwner: true, passwordHash });
    otherOwner.totpSecretEncrypted = sealTotpSecret(secrets.box, otherOwner.id, secrets.totpSecret);
    const reader = tx.create(User, { account, email: "other-reader@example.com" });
    const wallet = tx.create(Wallet, {
      id: OTHER_WALLET,
      account,
      label: "Other BTC",
      status: WalletStatus.ACTIVE,
      type: WalletType.MERCHANT,
      currency: { iso: 1000, alpha: "BTC", name: "Bitcoin", exp: 8 },
      balanceConfirmed: "1.00000000",
    });
    tx.create(WalletAccess, { user: reader, wallet, role: WalletRole.READ_ONLY });
  });
}
