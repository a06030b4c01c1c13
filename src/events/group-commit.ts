import type { NewEvent, WriteResult } from "./event.js";
import type { EventLog } from "./event-log.js";

/** Most events appended in one transaction. */
export const MAX_BATCH = 500;

interface Pending {
  event: NewEvent;
  resolve(result: WriteResult): void;
  reject(error: unknown): void;
}

/**
 * The queue in front of the event log: events written while a batch commits are appended together in the next
 * batch (up to `MAX_BATCH`, whole), so one commit, and one fsync, serves many of them. One batch is in flight at a
 * time. Each writer is answered only after the batch holding its event committed (200 still means stored); a
 * failed batch fails each of its writers, and nothing of it is stored.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private inFlight = false;
  private scheduled = false;
  private idle: (() => void) | null = null;

  constructor(private readonly log: Pick<EventLog, "append">) {}

  write(event: NewEvent): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (this.inFlight || this.scheduled) return;
      this.scheduled = true;
      // On the next turn of the event loop, so that the events read in this turn share the batch.
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    });
  }

  /** Resolves once nothing is queued or in flight. */
  async drain(): Promise<void> {
    while (this.inFlight || this.scheduled || this.queue.length > 0) await new Promise<void>((resolve) => (this.idle = resolve));
  }

  private flush(): void {
    if (this.inFlight || this.queue.length === 0) return this.idle?.();
    const batch = this.queue.splice(0, MAX_BATCH);
    this.inFlight = true;
    // The next batch (those that queued during this commit, who have waited a commit already) goes out before this
    // one's writers are answered, so that answering them does not delay it.
    const settled = () => {
      this.inFlight = false;
      this.flush();
    };
    this.log.append(batch.map((pending) => pending.event)).then(
      (results) => {
        settled();
        batch.forEach((pending, index) => pending.resolve(results[index]!));
      },
      (error: unknown) => {
        settled();
        for (const pending of batch) pending.reject(error);
      },
    );
  }
}
