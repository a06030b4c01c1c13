import type { EntityManager, FilterQuery } from "@mikro-orm/core";
import type { Viewer } from "../access/viewer.js";
import { WalletAccess } from "../access/wallet-access.entity.js";
import { badInput } from "../domain-error.js";
import { requireWalletId } from "../input-validation.js";
import { decodeCursor, encodeCursor, parsePageArgs, toPage, type Page, type PageArgs } from "../pagination.js";
import { holdsEveryWallet } from "../wallets/wallet.service.js";
import type { CallbackEvent } from "./callback-event.entity.js";
import type { EventFilter, StoredEvent } from "./event-store.js";
import { readEvents } from "./event-store.js";

const MAX_FILTER_VALUES = 50;

/** The cursor of an event: its account sequence number, opaque to clients. */
/** Cursors of events already encoded: subscribers at the head share one event object. */
const cursors = new WeakMap<object, string>();

export function eventCursor(event: Pick<CallbackEvent, "sequence">): string {
  let cursor = cursors.get(event);
  if (cursor === undefined) cursors.set(event, (cursor = encodeCursor(String(event.sequence))));
  return cursor;
}

/** The sequence number an `after` cursor stands for. */
export function sequenceOf(after: string | null | undefined): number | null {
  if (after == null) return null;
  const text = decodeCursor(after);
  if (!/^\d{1,15}$/.test(text)) throw badInput("after is not a cursor returned by this API", "after");
  return Number(text);
}

/** Checks a filter's sizes and ids; returns it normalised (empty lists kept: they match nothing). */
export function validateEventFilter(filter: EventFilter | null | undefined): EventFilter {
  if (!filter) return {};
  for (const [name, values] of Object.entries(filter)) {
    if (Array.isArray(values) && values.length > MAX_FILTER_VALUES) {
      throw badInput(`filter.${name} accepts at most ${MAX_FILTER_VALUES} values`, `filter.${name}`);
    }
  }
  filter.walletIds?.forEach((id, index) => requireWalletId(id, `filter.walletIds[${index}]`));
  return filter;
}

/** The wallet ids a viewer may see events of, or "all" for the Owner and the API user. */
export async function visibleWalletIds(em: EntityManager, viewer: Viewer): Promise<Set<string> | "all"> {
  if (holdsEveryWallet(viewer)) return "all";
  const rows = await em.find(WalletAccess, { user: viewer.userId }, { fields: ["wallet"] });
  return new Set(rows.map((row) => row.wallet.id));
}

/** The events a viewer may see and asked for, as a query over the viewer's account. */
function eventQuery(visible: Set<string> | "all", filter: EventFilter): FilterQuery<CallbackEvent> {
  const conditions: FilterQuery<CallbackEvent>[] = [];
  if (visible !== "all") conditions.push({ wallet: { $in: [...visible] } });
  if (filter.walletIds) conditions.push({ wallet: { $in: [...filter.walletIds] } });
  if (filter.kinds) conditions.push({ kind: { $in: [...filter.kinds] } });
  if (filter.statuses) conditions.push({ transferStatus: { $in: [...filter.statuses] } });
  return conditions.length === 0 ? {} : { $and: conditions };
}

/** True when an event passes the viewer's visibility and the filter (the in-memory twin of `eventQuery`). */
export function eventMatches(event: StoredEvent, visible: Set<string> | "all", filter: EventFilter): boolean {
  const walletId = event.wallet.id;
  return (
    (visible === "all" || visible.has(walletId)) &&
    (!filter.walletIds || filter.walletIds.includes(walletId)) &&
    (!filter.kinds || filter.kinds.includes(event.kind)) &&
    (!filter.statuses || filter.statuses.includes(event.transferStatus))
  );
}

/** The history: the viewer's account's events they may see, oldest first, from a cursor. */
export async function listCallbackEvents(
  em: EntityManager,
  viewer: Viewer,
  args: PageArgs & { filter?: EventFilter | null },
): Promise<Page<CallbackEvent>> {
  const filter = validateEventFilter(args.filter);
  const request = parsePageArgs({ first: args.first });
  const after = sequenceOf(args.after) ?? 0;
  const visible = await visibleWalletIds(em, viewer);
  const rows = await readEvents(em, viewer.accountId, after, request.limit + 1, eventQuery(visible, filter));
  return toPage(rows, { limit: request.limit, afterKey: args.after ?? null }, (event) => String(event.sequence));
}
