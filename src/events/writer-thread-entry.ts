import { parentPort, workerData } from "node:worker_threads";
import type { EventWriter } from "./event-log.js";
import { PostgresEventWriter } from "./postgres-event-writer.js";
import { SqliteEventWriter } from "./sqlite-event-writer.js";
import { failureOf, type WriterAnswer, type WriterRequest, type WriterTarget } from "./writer-thread-messages.js";

/**
 * The writer thread (see `writer-thread.ts`): the database's writer on a connection of its own, one batch at a
 * time, in the order they arrive.
 */
const port = parentPort!;
const target = workerData as WriterTarget;
const answer = (message: WriterAnswer) => port.postMessage(message);

let statements = 0;
const counted = () => {
  statements += 1;
};
const writer: EventWriter =
  target.dialect === "sqlite"
    ? new SqliteEventWriter(target.filename, counted)
    : new PostgresEventWriter({
        ...target,
        logger: { warn: (fields, warning) => answer({ warning, failure: failureOf(fields.err) }) },
        onStatement: counted,
      });

let turn = Promise.resolve();
port.on("message", (request: WriterRequest) => {
  turn = turn.then(() => handle(request));
});

async function handle(request: WriterRequest): Promise<void> {
  if ("close" in request) {
    await writer.close();
    port.close();
    return;
  }
  statements = 0;
  try {
    const results = await writer.append(request.events);
    answer({ id: request.id, statements, results });
  } catch (error) {
    answer({ id: request.id, statements, failure: failureOf(error) });
  }
}
