import { Worker } from "node:worker_threads";
import { settledWithin } from "../settled-within.js";
import type { NewEvent, WriteResult } from "./event.js";
import type { EventWriter } from "./event-log.js";
import { errorOf, type WriterAnswer, type WriterRequest, type WriterTarget } from "./writer-thread-messages.js";

/**
 * Where the thread's code is: next to this module. Under the test runner this module is its TypeScript source, and
 * the thread runs the source too, compiled as it loads (by jiti, a development dependency): what is tested is what
 * is edited, with no build in between.
 */
const FROM_SOURCE = import.meta.url.endsWith(".ts");
export const WRITER_THREAD_ENTRY = new URL(`./writer-thread-entry.${FROM_SOURCE ? "ts" : "js"}`, import.meta.url);

/** How long closing waits for the thread to close its connection before it is stopped. */
const CLOSE_TIMEOUT_MS = 5000;

interface Waiting {
  worker: Worker;
  resolve(results: WriteResult[]): void;
  reject(error: Error): void;
}

/**
 * The database's writer (`sqlite-event-writer.ts`, `postgres-event-writer.ts`) on a thread of its own, with a
 * connection of its own: while a batch commits (on SQLite, its fsync), the service's thread goes on reading
 * callbacks, and it spends nothing on preparing the events (keys, ids, rows) or on the database's protocol.
 * `append` hands the batch to the thread and is answered when it committed; `GroupCommit` keeps one batch in
 * flight. When the thread stops (it failed), the batches it held fail and the next batch starts another.
 */
export class WriterThread implements EventWriter {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, Waiting>();
  private lastId = 0;
  private closed = false;

  constructor(
    private readonly target: WriterTarget,
    private readonly options: {
      logger: { warn(fields: { err: unknown }, message: string): void; error(fields: { err: unknown }, message: string): void };
      /** Told how many statements each batch ran. */
      onStatements?: (count: number) => void;
    },
  ) {
    this.start();
  }

  append(events: readonly NewEvent[]): Promise<WriteResult[]> {
    if (this.closed) return Promise.reject(new Error("the event writer is closed"));
    const worker = this.worker ?? this.start();
    const id = ++this.lastId;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { worker, resolve, reject });
      worker.postMessage({ id, events: events as NewEvent[] } satisfies WriterRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once("exit", resolve));
    worker.postMessage({ close: true } satisfies WriterRequest);
    if (!(await settledWithin(exited, CLOSE_TIMEOUT_MS))) await worker.terminate();
  }

  private start(): Worker {
    const worker = new Worker(WRITER_THREAD_ENTRY, {
      workerData: this.target,
      execArgv: FROM_SOURCE ? ["--import", "jiti/register"] : [],
    });
    // The thread does not keep the process alive by itself: the service closes it.
    worker.unref();
    worker.on("message", (message: WriterAnswer) => this.heard(message));
    worker.on("error", (error) => this.options.logger.error({ err: error }, "the event writer's thread failed; the next batch starts another"));
    worker.on("exit", () => {
      if (this.worker === worker) this.worker = null;
      for (const [id, waiting] of this.waiting) {
        if (waiting.worker !== worker) continue;
        this.waiting.delete(id);
        waiting.reject(new Error("the event writer's thread stopped before the batch was answered"));
      }
    });
    this.worker = worker;
    return worker;
  }

  private heard(message: WriterAnswer): void {
    if ("warning" in message) {
      this.options.logger.warn({ err: errorOf(message.failure) }, message.warning);
      return;
    }
    const waiting = this.waiting.get(message.id);
    if (!waiting) return;
    this.waiting.delete(message.id);
    this.options.onStatements?.(message.statements);
    if ("failure" in message) waiting.reject(errorOf(message.failure));
    else waiting.resolve(message.results);
  }
}
