import type { EntityManager } from "@mikro-orm/core";
import type { SqlEntityManager } from "@mikro-orm/knex";
import { randomBytes } from "node:crypto";
import { EventEpoch } from "./epoch.entity.js";

/** What minted an epoch after the first: the embedded database's `restore`, or `events mark-restored`. */
export type EpochCause = "restore" | "mark-restored";

/** A minted epoch, and where it forked off. */
export interface MintedEpoch {
  id: string;
  parentId: string;
  ordinal: number;
  /** Accounts with events when it was minted (each has a fork point). */
  accounts: number;
  /** The sum of the fork points: how many events the accounts had numbered when it was minted. */
  eventsThrough: number;
}

/** Longest note an epoch keeps. */
export const MAX_EPOCH_NOTE_LENGTH = 1024;

/**
 * Mints a new epoch of the event log (see `epoch.ts`), forked off the current one at every account's head: to be
 * called once the database holds what was restored, before any instance serves from it (an instance reads the
 * epochs once). Events stored from then on take the numbers after those heads, in the new epoch.
 */
export async function mintEpoch(em: EntityManager, cause: EpochCause, note: string | null): Promise<MintedEpoch> {
  return em.transactional(async (tx) => {
    const sql = tx as SqlEntityManager;
    const [current] = await sql.execute<{ id: string; ordinal: number | string }[]>(
      "select id, ordinal from event_epoch order by ordinal desc limit 1",
    );
    if (!current) throw new Error("the database has no event epoch: it is not migrated to this version");
    const epoch = tx.create(EventEpoch, {
      id: randomBytes(8).toString("hex"),
      parentId: current.id,
      ordinal: Number(current.ordinal) + 1,
      cause,
      note: note === null ? null : note.slice(0, MAX_EPOCH_NOTE_LENGTH),
    });
    await tx.flush();
    await sql.execute("insert into event_epoch_fork (epoch_id, account_id, sequence) select ?, account_id, value from event_sequence", [epoch.id]);
    const [forks] = await sql.execute<{ accounts: number | string; events: number | string | null }[]>(
      "select count(*) as accounts, sum(sequence) as events from event_epoch_fork where epoch_id = ?",
      [epoch.id],
    );
    return {
      id: epoch.id,
      parentId: current.id,
      ordinal: epoch.ordinal,
      accounts: Number(forks?.accounts ?? 0),
      eventsThrough: Number(forks?.events ?? 0),
    };
  });
}
