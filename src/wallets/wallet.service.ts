import type { EntityManager, FilterQuery } from "@mikro-orm/core";
import type { Viewer } from "../access/viewer.js";
import { visibleWallets } from "../access/wallet-visibility.js";
import { badInput } from "../domain-error.js";
import { isWalletId, requireWalletId } from "../input-validation.js";
import { parsePageArgs, toPage, type Page, type PageArgs } from "../pagination.js";
import { WalletStatus, WalletType } from "./wallet-enums.js";
import { Wallet } from "./wallet.entity.js";

/** Narrows a wallet listing; every list is optional and at most 50 long. */
export interface WalletFilter {
  statuses?: WalletStatus[] | null;
  types?: WalletType[] | null;
  /** Currency tickers (`alpha`), e.g. `BTC`. */
  currencies?: string[] | null;
}

const MAX_FILTER_VALUES = 50;

function filterQuery(filter: WalletFilter | null | undefined): FilterQuery<Wallet> {
  const where: FilterQuery<Wallet> & Record<string, unknown> = {};
  if (!filter) return where;
  for (const [name, values] of Object.entries(filter)) {
    if (Array.isArray(values) && values.length > MAX_FILTER_VALUES) {
      throw badInput(`filter.${name} accepts at most ${MAX_FILTER_VALUES} values`, `filter.${name}`);
    }
  }
  if (filter.statuses) where.status = { $in: filter.statuses };
  if (filter.types) where.type = { $in: filter.types };
  if (filter.currencies) where.currency = { alpha: { $in: filter.currencies } };
  return where;
}

/** One page of the viewer's wallets, ordered by wallet id. */
export async function listWallets(
  em: EntityManager,
  viewer: Viewer,
  args: PageArgs & { filter?: WalletFilter | null },
): Promise<Page<Wallet>> {
  const request = parsePageArgs(args);
  const where: FilterQuery<Wallet> = {
    $and: [
      visibleWallets(viewer),
      filterQuery(args.filter),
      request.afterKey === null ? {} : { id: { $gt: request.afterKey } },
    ],
  };
  const rows = await em.find(Wallet, where, { orderBy: { id: "asc" }, limit: request.limit + 1 });
  return toPage(rows, request, (wallet) => wallet.id);
}

/** The wallet if the viewer may see it, else null (an unknown wallet and a hidden one look the same). */
export async function findVisibleWallet(em: EntityManager, viewer: Viewer, id: string): Promise<Wallet | null> {
  requireWalletId(id, "id");
  return em.findOne(Wallet, { $and: [{ id }, visibleWallets(viewer)] });
}

/**
 * Loads many wallets in one SQL statement, answering in the order asked, null for ids that are malformed,
 * unknown or not visible to the viewer. Federation reference resolution goes through here.
 */
export async function loadVisibleWallets(
  em: EntityManager,
  viewer: Viewer,
  ids: readonly string[],
): Promise<(Wallet | null)[]> {
  const wanted = [...new Set(ids.filter(isWalletId))];
  const found = wanted.length === 0 ? [] : await em.find(Wallet, { $and: [{ id: { $in: wanted } }, visibleWallets(viewer)] });
  const byId = new Map(found.map((wallet) => [wallet.id, wallet]));
  return ids.map((id) => byId.get(id) ?? null);
}
