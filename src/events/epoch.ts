/**
 * Epochs of the event log. A restore from a backup (or a point-in-time recovery) rewinds the log: the events stored
 * after the backup are gone, and the numbers they had are given again to new events. So each history the log goes
 * through is an epoch: the database's first epoch comes with the schema, and each restore mints a new one whose
 * parent is the epoch the backup was taken in, with the point where it forked off, per account (the account's
 * head in the restored database: its events up to there are the parent's and survived).
 *
 * A cursor names its epoch and its sequence number, so a cursor from a history the log no longer has is told apart
 * from one it has, instead of resuming silently after numbers that now stand for other events. Cursors of the first
 * epoch name no epoch (they read as cursors did before epochs existed).
 */

/** An epoch as stored: its random id and the epoch it forked off (null for the first). */
export interface Epoch {
  id: string;
  parentId: string | null;
}

/** A position in an account's log as a cursor names it: its epoch (null: the first) and its sequence number. */
export interface EventPosition {
  epoch: string | null;
  sequence: number;
}

/** The form of an epoch id: 16 lowercase hex digits (64 random bits). */
export const EPOCH_ID = /^[0-9a-f]{16}$/;

/**
 * The epochs of one database, first to current. A database holds one line of them: a restore replaces the
 * database with a backup, which holds the epochs up to the one it was taken in, and adds one.
 */
export class EpochLineage {
  readonly current: Epoch;
  readonly first: Epoch;
  private readonly byId: ReadonlyMap<string, Epoch>;

  /** `epochs` in the order they were minted; none reads as a database with only its first epoch. */
  constructor(epochs: readonly Epoch[]) {
    const line = epochs.length > 0 ? epochs : [{ id: "", parentId: null }];
    this.first = line[0]!;
    this.current = line.at(-1)!;
    this.byId = new Map(line.map((epoch) => [epoch.id, epoch]));
  }

  /** The epoch the current epoch's cursors name: none (null) in the first epoch. */
  get cursorEpoch(): string | null {
    return this.current === this.first ? null : this.current.id;
  }

  /** True when a position is in the current epoch. */
  isCurrent(position: EventPosition): boolean {
    return (position.epoch ?? this.first.id) === this.current.id;
  }

  /**
   * The epochs minted after `epochId` on the way to the current one, newest first (the current one included), or
   * null when `epochId` is not an ancestor of the current epoch (another database's, or a restore's this database
   * was replaced with a backup from before).
   */
  descendantsOf(epochId: string): Epoch[] | null {
    const path: Epoch[] = [];
    for (let epoch: Epoch | undefined = this.current; epoch; epoch = epoch.parentId === null ? undefined : this.byId.get(epoch.parentId)) {
      if (epoch.id === epochId) return path;
      path.push(epoch);
    }
    return null;
  }
}

/** Where a cursor leaves a reader in the current epoch. */
export type CursorPlacement =
  /** In the current history: read on after `sequence`. */
  | { inHistory: true; sequence: number }
  /**
   * Not in the current history (events after it were lost in a restore, or it comes from a history this database
   * never had): read again after `rereadAfter`, the last position the cursor's history and the current one share
   * (where known), never before what retention kept.
   */
  | { inHistory: false; rereadAfter: number };

/**
 * Places a cursor in the current epoch. A cursor of the current epoch is in the history up to the account's head;
 * beyond it, it comes from a history this database does not have (a restore that minted no epoch), and where the
 * histories part is unknown: all that is kept is read again. A cursor of an ancestor epoch is in the history up to
 * the lowest fork point on the way from its epoch to the current one; beyond it, the history is read again from
 * that fork point. A cursor of an epoch that is no ancestor: all that is kept is read again.
 *
 * `forks` holds the account's fork points by epoch (an epoch without one forked before the account had events);
 * it is only consulted for a cursor of another epoch.
 */
export function placeCursor(
  lineage: EpochLineage,
  position: EventPosition,
  account: { head: number; prunedThrough: number; forks: ReadonlyMap<string, number> },
): CursorPlacement {
  const everything = { inHistory: false, rereadAfter: account.prunedThrough } as const;
  if (lineage.isCurrent(position)) return position.sequence <= account.head ? { inHistory: true, sequence: position.sequence } : everything;
  const path = lineage.descendantsOf(position.epoch ?? lineage.first.id);
  if (!path) return everything;
  const survived = Math.min(...path.map((epoch) => account.forks.get(epoch.id) ?? 0));
  if (position.sequence <= survived) return { inHistory: true, sequence: position.sequence };
  return { inHistory: false, rereadAfter: Math.max(survived, account.prunedThrough) };
}

/** The text a cursor encodes for a position: `<sequence>` in the first epoch, `<epoch>:<sequence>` after it. */
export function positionKey(position: EventPosition): string {
  return position.epoch === null ? String(position.sequence) : `${position.epoch}:${position.sequence}`;
}

/** The position a cursor's text stands for, or null when it is not one `positionKey` writes. */
export function positionOfKey(key: string): EventPosition | null {
  const match = /^(?:([0-9a-f]{16}):)?(\d{1,15})$/.exec(key);
  if (!match) return null;
  return { epoch: match[1] ?? null, sequence: Number(match[2]) };
}
