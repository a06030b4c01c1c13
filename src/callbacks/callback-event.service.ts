import type { EntityManager } from "@mikro-orm/core";
import type { Viewer } from "../access/viewer.js";
import { visibleWalletIds } from "../access/wallet-visibility.js";
import { badInput, cursorExpired, cursorRestored } from "../domain-error.js";
import { placeCursor, positionKey, positionOfKey, type EventPosition } from "../events/epoch.js";
import type { StoredEvent } from "../events/event.js";
import type { EventFilter, EventLog, LogHead } from "../events/event-log.js";
import { requireWalletId } from "../input-validation.js";
import { decodeCursor, encodeCursor, parsePageArgs, toPage, type Page, type PageArgs } from "../pagination.js";

const MAX_FILTER_VALUES = 50;

/** Cursors of events already encoded: subscribers at the head share one event object. */
const cursors = new WeakMap<object, string>();

/** The cursor of an event (or of a position in the log): its epoch and sequence number, opaque to clients. */
export function eventCursor(position: EventPosition): string {
  let cursor = cursors.get(position);
  if (cursor === undefined) cursors.set(position, (cursor = encodeCursor(positionKey(position))));
  return cursor;
}

/** The position an `after` cursor stands for. */
export function positionOf(after: string | null | undefined): EventPosition | null {
  if (after == null) return null;
  const position = positionOfKey(decodeCursor(after));
  if (!position) throw badInput("after is not a cursor returned by this API", "after");
  return position;
}

/**
 * The sequence number reading resumes after, in the current epoch, for a cursor's position (see `placeCursor`).
 * A position the current history does not hold is refused with CURSOR_RESTORED, which names the cursor to read
 * again from: never a silent gap.
 */
export async function resumeAfter(
  log: Pick<EventLog, "epochs" | "forkPoints">,
  accountId: string,
  position: EventPosition,
  head: Pick<LogHead, "sequence" | "prunedThrough">,
): Promise<number> {
  const lineage = await log.epochs();
  const forks = lineage.isCurrent(position) ? new Map<string, number>() : await log.forkPoints(accountId);
  const placement = placeCursor(lineage, position, { head: head.sequence, prunedThrough: head.prunedThrough, forks });
  if (!placement.inHistory) throw cursorRestored(eventCursor({ epoch: lineage.cursorEpoch, sequence: placement.rereadAfter }));
  return placement.sequence;
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

/**
 * How far back the history reaches: the retention in days (null: for good), and the cursor to read it all from
 * (the position before the oldest event kept; with nothing pruned, the start of the log).
 */
export async function eventRetention(
  log: Pick<EventLog, "head" | "epochs">,
  viewer: Viewer,
  retentionDays: number,
): Promise<{ days: number | null; earliestCursor: string }> {
  const { prunedThrough } = await log.head(viewer.accountId);
  const { cursorEpoch } = await log.epochs();
  return {
    days: retentionDays > 0 ? retentionDays : null,
    earliestCursor: eventCursor({ epoch: cursorEpoch, sequence: prunedThrough }),
  };
}

/**
 * The history: the viewer's account's events they may see, oldest first, from a cursor. A cursor below what
 * retention kept is refused with CURSOR_EXPIRED, one from a history the log does not have with CURSOR_RESTORED
 * (never a silent gap); without one, the history starts at the oldest event kept.
 */
export async function listCallbackEvents(
  log: Pick<EventLog, "after" | "head" | "epochs" | "forkPoints">,
  em: EntityManager,
  viewer: Viewer,
  args: PageArgs & { filter?: EventFilter | null },
): Promise<Page<StoredEvent>> {
  const filter = validateEventFilter(args.filter);
  const request = parsePageArgs({ first: args.first });
  const position = positionOf(args.after);
  const { accountId } = viewer;
  const lineage = await log.epochs();
  // A cursor of another epoch is placed in the current one before the read.
  const after =
    position === null ? 0 : lineage.isCurrent(position) ? position.sequence : await resumeAfter(log, accountId, position, await log.head(accountId));
  const visible = await visibleWalletIds(em, viewer);
  const { events, prunedThrough } = await log.after(accountId, after, request.limit + 1, readableBy(visible, filter));
  if (position !== null) {
    // With no event after the cursor the read says nothing of the head or of pruning: the head does. (With events
    // after it, the cursor is below the head.)
    const head = events.length === 0 ? await log.head(accountId) : null;
    if (head) await resumeAfter(log, accountId, { epoch: lineage.cursorEpoch, sequence: after }, head);
    const pruned = prunedThrough ?? head?.prunedThrough ?? 0;
    if (after > 0 && after < pruned) throw cursorExpired(eventCursor({ epoch: lineage.cursorEpoch, sequence: pruned }));
  }
  return toPage(events, { limit: request.limit, afterKey: args.after ?? null }, positionKey);
}
