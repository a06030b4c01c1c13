import type { EntityManager } from "@mikro-orm/core";
import type { Viewer } from "../access/viewer.js";
import { visibleWalletIds } from "../access/wallet-visibility.js";
import { badInput, cursorExpired } from "../domain-error.js";
import type { StoredEvent } from "../events/event.js";
import type { EventFilter, EventLog } from "../events/event-log.js";
import { requireWalletId } from "../input-validation.js";
import { decodeCursor, encodeCursor, parsePageArgs, toPage, type Page, type PageArgs } from "../pagination.js";

const MAX_FILTER_VALUES = 50;

/** The cursor of an event: its account sequence number, opaque to clients. */
/** Cursors of events already encoded: subscribers at the head share one event object. */
const cursors = new WeakMap<object, string>();

export function eventCursor(event: Pick<StoredEvent, "sequence">): string {
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

/** True when no list is given, or the value is in it (an absent value never is). */
function listed<T>(list: readonly T[] | null | undefined, value: T | null): boolean {
  return !list || (value !== null && list.includes(value));
}

/** True when an event passes the viewer's visibility and the filter (the in-memory twin of `readableBy`). */
export function eventMatches(event: StoredEvent, visible: Set<string> | "all", filter: EventFilter): boolean {
  const walletId = event.wallet.id;
  return (
    (visible === "all" || visible.has(walletId)) &&
    (!filter.walletIds || filter.walletIds.includes(walletId)) &&
    (!filter.kinds || filter.kinds.includes(event.kind)) &&
    listed(filter.statuses, event.transferStatus) &&
    listed(filter.depositStatuses, event.depositStatus) &&
    listed(filter.payoutStatuses, event.payoutStatus)
  );
}

/** What a viewer may read of an account's log, as a filter of the log: the filter narrowed to their wallets. */
function readableBy(visible: Set<string> | "all", filter: EventFilter): EventFilter {
  if (visible === "all") return filter;
  const walletIds = filter.walletIds ? filter.walletIds.filter((id) => visible.has(id)) : [...visible];
  return { ...filter, walletIds };
}

/** How far back the history reaches: the retention in days (null: for good), and the cursor to read it all from. */
export async function eventRetention(
  log: Pick<EventLog, "head">,
  viewer: Viewer,
  retentionDays: number,
): Promise<{ days: number | null; earliestCursor: string | null }> {
  const { prunedThrough } = await log.head(viewer.accountId);
  return { days: retentionDays > 0 ? retentionDays : null, earliestCursor: prunedThrough > 0 ? eventCursor({ sequence: prunedThrough }) : null };
}

/**
 * The history: the viewer's account's events they may see, oldest first, from a cursor. A cursor below what
 * retention kept is refused with CURSOR_EXPIRED (never a silent gap); without one, the history starts at the
 * oldest event kept.
 */
export async function listCallbackEvents(
  log: Pick<EventLog, "after" | "head">,
  em: EntityManager,
  viewer: Viewer,
  args: PageArgs & { filter?: EventFilter | null },
): Promise<Page<StoredEvent>> {
  const filter = validateEventFilter(args.filter);
  const request = parsePageArgs({ first: args.first });
  const after = sequenceOf(args.after) ?? 0;
  const visible = await visibleWalletIds(em, viewer);
  const { events, prunedThrough } = await log.after(viewer.accountId, after, request.limit + 1, readableBy(visible, filter));
  if (after > 0) {
    // With no event after the cursor the read says nothing of pruning: the head does.
    const pruned = prunedThrough ?? (events.length === 0 ? (await log.head(viewer.accountId)).prunedThrough : 0);
    if (after < pruned) throw cursorExpired(eventCursor({ sequence: pruned }));
  }
  return toPage(events, { limit: request.limit, afterKey: args.after ?? null }, (event) => String(event.sequence));
}
