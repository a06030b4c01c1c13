import type pg from "pg";
import { settledWithin } from "../settled-within.js";

/** How long closing waits for the server to acknowledge the goodbye. */
const GOODBYE_MS = 1000;

/**
 * Ends a connection of the service's own (not the pool's): it says goodbye and waits for the server to acknowledge
 * it; over a network that does not answer, the socket is closed without waiting longer.
 */
export async function sayGoodbye(client: pg.Client): Promise<void> {
  await settledWithin(client.end(), GOODBYE_MS);
  client.connection.stream.destroy();
}
