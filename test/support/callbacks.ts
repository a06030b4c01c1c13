import { createHmac } from "node:crypto";
import { ETH, buildSignedCallback, type CallbackCurrency, type CallbackSpec } from "../../src/callbacks/callback-builder.js";
import { CallbackEventKind, TransferStatus } from "../../src/events/event.js";
import {
  CallbackEventsDocument,
  RegenerateCallbackSecretDocument,
  type CallbackEventsQuery,
} from "../generated/graphql.js";
import { DEMO_WALLETS, OTHER_WALLET } from "./fixtures.js";
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

/**
 * The platform's signature of a message, computed here from the secret (lowercase hex HMAC-SHA256, the secret's
 * UTF-8 bytes as the key), so that tests do not take the code under test's word for it.
 */
export function hmac(secret: string, message: string): string {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(message, "utf8").digest("hex");
}

let counter = 0;

/** The currency of each wallet the tests' accounts hold (see `src/db/demo-seed.ts` and `fixtures.ts`). */
export const WALLET_CURRENCIES: Record<string, CallbackCurrency> = {
  [DEMO_WALLETS.ETH]: ETH,
  [DEMO_WALLETS.BTC]: { id: "1000", alpha: "BTC", name: "Bitcoin", exp: 8 },
  [DEMO_WALLETS.USDT]: { id: "2015", alpha: "USDT-ETH", name: "TetherUS", exp: 6 },
  [OTHER_WALLET]: { id: "1000", alpha: "BTC", name: "Bitcoin", exp: 8 },
};

/**
 * A signed deposit callback for the demo ETH wallet (or the wallet given, in its currency) with a fresh transfer,
 * overridable field by field, signed now (pass `now: () => server.clock.now()` where a test moves the service's
 * clock far).
 */
export function depositCallback(secret: string, overrides: Partial<CallbackSpec> = {}): Record<string, unknown> {
  counter += 1;
  const currency = overrides.currency ?? WALLET_CURRENCIES[overrides.walletId ?? DEMO_WALLETS.ETH] ?? ETH;
  return buildSignedCallback({
    walletId: DEMO_WALLETS.ETH,
    kind: CallbackEventKind.DEPOSIT,
    status: TransferStatus.CONFIRMED,
    amount: `0.${"3".padEnd(currency.exp, "0")}`,
    trackingId: `order-${process.pid}-${counter}`,
    transferId: String(100_000 + counter),
    operationId: String(200_000 + counter),
    secret,
    currency,
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

/** Posts a callback as a sender that may lose the connection does: the status, or "failed" when it was refused or cut. */
export async function postCallbackOrFail(url: string, body: unknown): Promise<number | "failed"> {
  try {
    const response = await fetch(`${url}/callbacks`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return "failed";
  }
}

/** The tracking ids of every event the token's user sees, oldest first, read page by page from the history. */
export async function storedTrackingIds(url: string, token: string): Promise<string[]> {
  const ids: string[] = [];
  for (let after: string | null = null; ; ) {
    const page: CallbackEventsQuery["callbackEvents"] = (await execute(url, CallbackEventsDocument, { first: 100, after }, { token })).data!
      .callbackEvents;
    ids.push(...page.edges.map((edge) => edge.node.trackingId));
    if (!page.pageInfo.hasNextPage) return ids;
    after = page.pageInfo.endCursor!;
  }
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
