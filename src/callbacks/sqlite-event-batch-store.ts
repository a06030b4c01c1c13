import { Worker } from "node:worker_threads";
import type { EventInput, WriteResult } from "./event-batch.js";
import type { EventBatchStore } from "./event-writer.js";
import type { BatchRequest, BatchResponse } from "./sqlite-event-worker.js";

/** A batch the worker could not store; nothing of it was. */
export class EventBatchFailed extends Error {
  override name = "EventBatchFailed";
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/**
 * The worker's script. The service runs from the build; under the test runner this module is TypeScript source,
 * and the worker still runs from the build (`npm test` builds first).
 */
function workerScript(): URL {
  return import.meta.url.endsWith(".ts")
    ? new URL("../../dist/src/callbacks/sqlite-event-worker.js", import.meta.url)
    : new URL("./sqlite-event-worker.js", import.meta.url);
}

/**
 * Batches on the embedded database, written by a worker thread with its own connection (see
 * `sqlite-event-worker.ts`): SQLite's driver is synchronous, and a commit (its fsync included) would otherwise stop
 * this thread from reading the callbacks that should join the next batch. A worker that dies fails its batch and
 * is replaced on the next one.
 */
export class SqliteEventBatchStore implements EventBatchStore {
  /**
   * Each batch is handed over as soon as it is read: the worker stores everything that reached it during its last
   * commit in its next one, without waiting for this thread to answer the last batch's callers first.
   */
  readonly inFlight = Number.POSITIVE_INFINITY;
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, { resolve(results: WriteResult[]): void; reject(error: unknown): void }>();
  private nextId = 0;

  constructor(
    private readonly filename: string,
    private readonly onStatement: (sql: string) => void = () => {},
  ) {
    this.worker = this.spawn();
  }

  store(inputs: EventInput[]): Promise<WriteResult[]> {
    const worker = (this.worker ??= this.spawn());
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, events: inputs } satisfies BatchRequest);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }

  private spawn(): Worker {
    const worker = new Worker(workerScript(), { workerData: { filename: this.filename } });
    // The worker never keeps the process alive by itself: the server does, and closes it.
    worker.unref();
    worker.on("message", (response: BatchResponse) => {
      const waiting = this.waiting.get(response.id);
      this.waiting.delete(response.id);
      for (const sql of response.statements) this.onStatement(sql);
      if ("results" in response) waiting?.resolve(response.results);
      else waiting?.reject(new EventBatchFailed(response.error.message, response.error.code));
    });
    const lost = (error: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const waiting of this.waiting.values()) waiting.reject(error);
      this.waiting.clear();
    };
    worker.on("error", lost);
    worker.on("exit", (code) => lost(new EventBatchFailed(`the event log writer stopped (exit code ${code})`)));
    return worker;
  }
}
