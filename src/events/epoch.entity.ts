import { Entity, OptionalProps, PrimaryKey, Property, Unique } from "@mikro-orm/core";

/**
 * An epoch of the event log (see `epoch.ts`): the first comes with the schema, each restore mints one. Rows are
 * only ever added; the current epoch is the one with the highest `ordinal`.
 */
@Entity({ tableName: "event_epoch" })
@Unique({ name: "event_epoch_ordinal_unique", properties: ["ordinal"] })
export class EventEpoch {
  [OptionalProps]?: "note" | "createdAt";

  /** 16 random hex digits, named by the cursors of this epoch. */
  @PrimaryKey({ type: "string", length: 16 })
  id!: string;

  /** The epoch the restored backup was taken in; null for the first. */
  @Property({ type: "string", length: 16, nullable: true })
  parentId: string | null = null;

  /** 1 for the first epoch, one more for each epoch minted after it. */
  @Property({ type: "integer" })
  ordinal!: number;

  /** What minted it: `first` (the schema), `restore` (the embedded database's restore), `mark-restored`. */
  @Property({ type: "string", length: 16 })
  cause!: string;

  /** What the operator said of it: the backup file restored, or the note given to `events mark-restored`. */
  @Property({ type: "string", length: 1024, nullable: true })
  note: string | null = null;

  @Property({ type: "datetime" })
  createdAt: Date = new Date();
}

/**
 * Where an epoch forked off its parent, for one account: the account's events up to `sequence` are the parent's,
 * kept through the restore. An account without a row had no events when the epoch was minted.
 */
@Entity({ tableName: "event_epoch_fork" })
export class EpochFork {
  @PrimaryKey({ type: "string", length: 16 })
  epochId!: string;

  @PrimaryKey({ type: "string", length: 36 })
  accountId!: string;

  @Property({ type: "integer" })
  sequence!: number;
}
