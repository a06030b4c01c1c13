import type { EntityManager } from "@mikro-orm/core";
import { Wallet } from "./wallet.entity.js";

const MAX_REMEMBERED_WALLETS = 100_000;

/** What the ingress checks a callback against: the wallet's account and currency. */
export interface WalletFacts {
  accountId: string;
  currency: { iso: number; alpha: string; exp: number };
}

/**
 * A wallet's account and currency never change, so the ingress remembers them (per service, bounded; unknown
 * wallets are not remembered) instead of reading them for every callback.
 */
export class WalletAccounts {
  private readonly known = new Map<string, WalletFacts>();

  /** `em` is called only when the wallet is read from the database; null for an unknown wallet. */
  async factsOf(em: () => EntityManager, walletId: string): Promise<WalletFacts | null> {
    const known = this.known.get(walletId);
    if (known) return known;
    const wallet = await em().findOne(Wallet, { id: walletId }, { fields: ["account", "currency"] });
    if (!wallet) return null;
    const { iso, alpha, exp } = wallet.currency;
    const facts = { accountId: wallet.account.id, currency: { iso, alpha, exp } };
    if (this.known.size >= MAX_REMEMBERED_WALLETS) this.known.clear();
    this.known.set(walletId, facts);
    return facts;
  }
}
