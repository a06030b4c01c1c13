import { buildSignedCallback, type CallbackSpec } from "../../src/callbacks/callback-builder.js";
import { CallbackEventKind, TransferStatus } from "../../src/events/event.js";
import {
  CallbackEventsDocument,
  RegenerateCallbackSecretDocument,
  type CallbackEventsQuery,
} from "../generated/graphql.js";
import { DEMO_WALLETS } from "./fixtures.js";
import { execute } from "./graphql-client.js";
import type { TestServer } from "./test-server.js";

/** Has the Owner regenerate the demo account's callback secret and returns it. */
export async function regenerateCallbackSecret(server: TestServer, previousSecretValidFor = 0): Promise<string> {
  const result = await execute(
    server.url,
    RegenerateCallbackSecretDocument,
    { input: { confirmation: server.confirmation(), previousSecretValidFor } },
    { token: await server.token("owner@example.com") },
  );
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data!.regenerateCallbackSecret.callbackSecret;
}

let counter = 0;

/** A signed deposit callback for the demo ETH wallet with a fresh transfer, overridable field by field. */
export function depositCallback(secret: string, overrides: Partial<CallbackSpec> = {}): Record<string, unknown> {
  counter += 1;
  return buildSignedCallback({
    walletId: DEMO_WALLETS.ETH,
    kind: CallbackEventKind.DEPOSIT,
    status: TransferStatus.CONFIRMED,
    amount: "0.300000000000000000",
    trackingId: `order-${process.pid}-${counter}`,
    transferId: String(100_000 + counter),
    operationId: String(200_000 + counter),
    time: String(1_785_312_000 + counter),
    secret,
    ...overrides,
  });
}

/** Posts a body to `/callbacks` as the platform does; returns the status and the raw answer. */
export async function postCallback(
  url: string,
  body: unknown,
  headers: Record<string, string> = { "content-type": "application/json" },
): Promise<{ status: number; text: string }> {
  const response = await fetch(`${url}/callbacks`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : body instanceof Uint8Array ? new Uint8Array(body) : JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

/**
 * The cursor of the account's newest event (posting one first when there is none), so that a subscription
 * started `after` it receives exactly what is posted from now on, with no race against its start.
 */
export async function headCursor(server: TestServer, secret: string): Promise<string> {
  const token = await server.token("owner@example.com");
  let cursor: string | null = null;
  for (let after: string | null = null; ; ) {
    const page: CallbackEventsQuery["callbackEvents"] = (
      await execute(server.url, CallbackEventsDocument, { first: 100, after }, { token })
    ).data!.callbackEvents;
    cursor = page.pageInfo.endCursor ?? cursor;
    if (!page.pageInfo.hasNextPage) break;
    after = page.pageInfo.endCursor!;
  }
  if (cursor) return cursor;
  const status = (await postCallback(server.url, depositCallback(secret))).status;
  if (status !== 200) throw new Error(`seed callback answered ${status}`);
  return headCursor(server, secret);
}
