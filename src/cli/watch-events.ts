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
  await new Promise<void>((resolve, reject) => {
    client.subscribe(
      { query: SUBSCRIPTION, variables: { after: values.after ?? null } },
      {
        next: (result) => process.stdout.write(`${JSON.stringify(result.data?.callbackEvents ?? result)}\n`),
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
