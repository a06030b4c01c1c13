import { createClient } from "graphql-ws";
import { parseArgs } from "node:util";
import WebSocket from "ws";

export const WATCH_USAGE = `  watch-events --token <bearer token> [--url ws://localhost:4000/graphql] [--after <cursor>]
      Subscribes to callbackEvents and prints each event as one JSON line, until interrupted.`;

const SUBSCRIPTION = `subscription($after: String) {
  callbackEvents(after: $after) {
    cursor kind wallet { id label } trackingId transferId transferStatus amount currency txid signedAt receivedAt
  }
}`;

/** A live dashboard in a terminal: what a subscriber through the router receives. */
export async function watchEvents(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      token: { type: "string", default: process.env.TOKEN },
      url: { type: "string", default: "ws://localhost:4000/graphql" },
      after: { type: "string" },
    },
  });
  if (!values.token) throw new Error("--token (or TOKEN) is required");
  const client = createClient({ url: values.url!, webSocketImpl: WebSocket, connectionParams: { token: values.token } });
  let cursor = values.after ?? null;
  await new Promise<void>((resolve, reject) => {
    client.subscribe(
      { query: SUBSCRIPTION, variables: { after: cursor } },
      {
        next: (result) => {
          const event = result.data?.callbackEvents as { cursor: string } | undefined;
          if (event) {
            cursor = event.cursor;
            process.stdout.write(`${JSON.stringify(event)}\n`);
            return;
          }
          // The server ends a subscription with one last result carrying a coded error (docs/subscriptions.md).
          const reasons = (result.errors ?? []).map((error) => `${String(error.extensions?.code ?? "ERROR")}: ${error.message}`);
          // CURSOR_EXPIRED and CURSOR_RESTORED name the cursor to read again from.
          const named = (result.errors ?? [])
            .map((error) => error.extensions?.resumeCursor ?? error.extensions?.earliestCursor)
            .find((value): value is string => typeof value === "string");
          const from = named ?? cursor;
          const resume = from ? ` (resume with --after ${from})` : "";
          reject(new Error(`subscription ended: ${reasons.join("; ")}${resume}`));
        },
        error: (error) => reject(new Error(`subscription ended: ${JSON.stringify(error)}`)),
        complete: resolve,
      },
    );
    process.once("SIGINT", () => {
      void client.dispose();
      resolve();
    });
  });
}
