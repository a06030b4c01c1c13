import type { EntityManager, FilterQuery } from "@mikro-orm/core";
import type { Wallet } from "../wallets/wallet.entity.js";
import { UserKind } from "./roles.js";
import type { Viewer } from "./viewer.js";
import { WalletAccess } from "./wallet-access.entity.js";

/** The Owner (role OWNER) and the API user (role ADMIN) hold every wallet of the account, present and future. */
export function holdsEveryWallet(viewer: Pick<Viewer, "isOwner" | "kind">): boolean {
  return viewer.isOwner || viewer.kind === UserKind.API;
}

/**
 * The wallets a viewer may see, as a query: the Owner and the API user see every wallet of the account, anyone
 * else the wallets they hold a role on. Always scoped to the viewer's account.
 */
export function visibleWallets(viewer: Viewer): FilterQuery<Wallet> {
  return holdsEveryWallet(viewer)
    ? { account: viewer.accountId }
    : { account: viewer.accountId, accesses: { user: viewer.userId } };
}

/** The ids of the wallets a viewer may see, or "all" for the Owner and the API user (every wallet of the account). */
export async function visibleWalletIds(em: EntityManager, viewer: Viewer): Promise<Set<string> | "all"> {
  if (holdsEveryWallet(viewer)) return "all";
  const rows = await em.find(WalletAccess, { user: viewer.userId }, { fields: ["wallet"] });
  return new Set(rows.map((row) => row.wallet.id));
}
