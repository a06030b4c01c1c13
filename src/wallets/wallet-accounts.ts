import type { EntityManager } from "@mikro-orm/core";
import { Wallet } from "./wallet.entity.js";

const MAX_REMEMBERED_WALLETS = 100_000;

/**
 * A wallet's account never changes, so the ingress remembers it (per service, bounded; unknown wallets are not
 * remembered) instead of reading it for every callback.
 */
export class WalletAccounts {
  private readonly known = new Map<string, string>();

  /** `em` is called only when the wallet is read from the database. */
  async accountOf(em: () => EntityManager, walletId: string): Promise<string | null> {
    const known = this.known.get(walletId);
    if (known) return known;
    const wallet = await em().findOne(Wallet, { id: walletId }, { fields: ["account"] });
    if (!wallet) return null;
    if (this.known.size >= MAX_REMEMBERED_WALLETS) this.known.clear();
    this.known.set(walletId, wallet.account.id);
    return wallet.account.id;
  }
}
