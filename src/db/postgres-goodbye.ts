import type pg from "pg";

/** How long closing waits for the server to acknowledge the goodbye. */
const GOODBYE_MS = 1000;

/**
 * Ends a connection of the service's own (not the pool's): it says goodbye and waits for the server to acknowledge
 * it; over a network that does not answer, the socket is closed without waiting longer.
 */
export async function sayGoodbye(client: pg.Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const goodbye = client.end().catch(() => {});
  await Promise.race([goodbye, new Promise<void>((resolve) => (timer = setTimeout(resolve, GOODBYE_MS)))]);
  clearTimeout(timer);
  client.connection.stream.destroy();
}
