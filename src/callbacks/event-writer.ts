import type { EventInput, WriteResult } from "./event-batch.js";

/** Stores a batch of callbacks in one transaction, answering for each (see `planBatch`). */
export interface EventBatchStore {
  /**
   * Batches that may be handed over before the first is answered: 1 by default, so that the next batch gathers
   * everything that arrives meanwhile. A store that gathers by itself takes more.
   */
  readonly inFlight?: number;
  store(inputs: EventInput[]): Promise<WriteResult[]>;
  close(): Promise<void>;
}

interface Pending {
  input: EventInput;
  resolve(result: WriteResult): void;
  reject(error: unknown): void;
}

/** Most callbacks committed in one transaction. */
export const MAX_BATCH = 500;

/**
 * Stores verified callbacks durably, once each, with group commit: callbacks that arrive while a commit is in
 * flight are written together in the next transaction, so one fsync serves many of them. Each caller is answered
 * only after the transaction holding its callback committed: 200 still means stored. A failed batch fails each
 * of its callers (who answer 503, so the platform retries); nothing of it is stored.
 */
export class EventWriter {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly maxInFlight: number;

  constructor(private readonly batches: EventBatchStore) {
    this.maxInFlight = batches.inFlight ?? 1;
  }

  write(input: EventInput): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.scheduled && this.inFlight < this.maxInFlight) {
        this.scheduled = true;
        // Start on the next turn of the event loop, so that callbacks read in this turn share the commit.
        setImmediate(() => {
          this.scheduled = false;
          this.dispatch();
        });
      }
    });
  }

  /** Waits for the batches in flight, then releases the store. */
  async close(): Promise<void> {
    while (this.inFlight > 0 || this.scheduled) await new Promise((resolve) => setTimeout(resolve, 5));
    await this.batches.close();
  }

  private dispatch(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      this.inFlight += 1;
      // The next batch (those that queued during this commit, who have waited a commit already) is sent before
      // this one's callers are answered, so that answering them does not delay it.
      const settled = () => {
        this.inFlight -= 1;
        this.dispatch();
      };
      this.batches.store(batch.map((pending) => pending.input)).then(
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
}
