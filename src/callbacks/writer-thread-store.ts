import { Worker } from "node:worker_threads";
import type { EventInput, WriteResult } from "./event-batch.js";
import type { EventBatchStore } from "./event-writer.js";
import type { WriterLogger } from "./postgres-event-batch-store.js";
import type { WriterMessage, WriterRequest, WriterTarget } from "./writer-thread.js";

export type { WriterTarget };

/** A batch the writer could not store; nothing of it was. */
export class EventBatchFailed extends Error {
  override name = "EventBatchFailed";
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** How long closing waits for the thread to finish its transaction and close its connection. */
const CLOSE_TIMEOUT_MS = 5000;

/**
 * The thread's script. The service runs from the build; under the test runner this module is TypeScript source,
 * and the thread still runs from the build (`npm test` builds first).
 */
function workerScript(): URL {
  return import.meta.url.endsWith(".ts")
    ? new URL("../../dist/src/callbacks/writer-thread.js", import.meta.url)
    : new URL("./writer-thread.js", import.meta.url);
}

/**
 * Batches written by the event log's writer thread (see `writer-thread.ts`), on either database: SQLite's driver
 * is synchronous, and a commit (its fsync included) would otherwise stop this thread from reading the callbacks
 * that should join the next batch; on PostgreSQL, preparing the rows and speaking the protocol would take this
 * thread's time from reading them. A thread that dies fails its batches and is replaced on the next one.
 */
export class WriterThreadStore implements EventBatchStore {
  /**
   * Each batch is handed over as soon as it is read: the thread stores everything that reached it during its last
   * transaction in its next one, without waiting for this thread to answer the last batch's callers.
   */
  readonly inFlight = Number.POSITIVE_INFINITY;
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, { resolve(results: WriteResult[]): void; reject(error: unknown): void }>();
  private nextId = 0;

  constructor(
    private readonly target: WriterTarget,
    private readonly onStatement: (sql: string) => void = () => {},
    private readonly logger?: WriterLogger,
  ) {
    this.worker = this.spawn();
  }

  store(inputs: EventInput[]): Promise<WriteResult[]> {
    const worker = (this.worker ??= this.spawn());
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, events: inputs } satisfies WriterRequest);
    });
  }

  /** Lets the thread finish its transaction and close its connection (ending it if it takes too long). */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    worker.postMessage({ close: true } satisfies WriterRequest);
    const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  private spawn(): Worker {
    const worker = new Worker(workerScript(), { workerData: this.target });
    // The thread never keeps the process alive by itself: the server does, and closes it.
    worker.unref();
    worker.on("message", (message: WriterMessage) => {
      if ("log" in message) {
        const { message: text, error } = message.log;
        this.logger?.warn({ err: error }, text);
        return;
      }
      const waiting = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      for (const sql of message.statements) this.onStatement(sql);
      if ("results" in message) waiting?.resolve(message.results);
      else waiting?.reject(new EventBatchFailed(message.error.message, message.error.code));
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
