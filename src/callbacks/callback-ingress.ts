import type { EntityManager } from "@mikro-orm/core";
import type { Clock } from "../clock.js";
import { verifyingCallbackSecrets } from "../credentials/callback-secret.service.js";
import type { SecretBox } from "../credentials/secret-box.js";
import type { Logger } from "../logger.js";
import { Wallet } from "../wallets/wallet.entity.js";
import { MalformedCallback, parseCallback } from "./callback-payload.js";
import { verifyCallbackSignature, type CallbackKeyDerivation } from "./callback-signature.js";
import type { EventFeed } from "./event-feed.js";
import { storeCallbackEvent } from "./event-store.js";

export interface IngressDependencies {
  em: () => EntityManager;
  box: SecretBox;
  clock: Clock;
  feed: EventFeed;
  logger: Logger;
  derivation: CallbackKeyDerivation;
}

/**
 * How a callback ended. `accepted` and `duplicate` are answered 200 (stored now, or stored before);
 * `malformed` 400; `unauthorized` 401 for a bad signature and an unknown wallet alike.
 */
export type IngressResult =
  | { outcome: "accepted"; sequence: number }
  | { outcome: "duplicate" }
  | { outcome: "malformed"; field: string }
  | { outcome: "unauthorized" };

/** Deepest JSON nesting read; a callback is three levels deep, so anything far beyond is hostile. */
const MAX_DEPTH = 32;

function tooDeep(text: string): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (inString) {
      if (char === "\\") index++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === "{" || char === "[") {
      if (++depth > MAX_DEPTH) return true;
    } else if (char === "}" || char === "]") depth--;
  }
  return false;
}

/**
 * Verifies and stores one callback body. Input problems never throw; a thrown error means the service could not
 * decide (e.g. the database is down) and the sender should retry.
 */
export async function ingestCallback(deps: IngressDependencies, body: string): Promise<IngressResult> {
  let json: unknown;
  try {
    if (tooDeep(body)) return { outcome: "malformed", field: "body (nested too deeply)" };
    json = JSON.parse(body);
  } catch {
    return { outcome: "malformed", field: "body (not valid JSON)" };
  }
  let callback;
  try {
    callback = parseCallback(json);
  } catch (error) {
    if (error instanceof MalformedCallback) return { outcome: "malformed", field: error.field };
    throw error;
  }

  const em = deps.em();
  const wallet = await em.findOne(Wallet, { id: callback.walletId });
  if (!wallet) return { outcome: "unauthorized" };
  const now = new Date(deps.clock.now());
  const secrets = await verifyingCallbackSecrets(em, deps.box, wallet.account.id, now);
  if (!verifyCallbackSignature(secrets, callback.signedFields, callback.sign, deps.derivation)) {
    return { outcome: "unauthorized" };
  }

  const result = await storeCallbackEvent(
    em,
    { accountId: wallet.account.id, walletId: wallet.id, callback, payload: body, receivedAt: now },
    deps.feed.notifyChannel,
  );
  if (!result.stored) {
    if (!result.sameTransfer) {
      deps.logger.warn(
        { wallet: wallet.id, transfer: callback.transferId },
        "callback repeats the signed fields of a stored event for another transfer: kept the stored one",
      );
    }
    return { outcome: "duplicate" };
  }
  deps.feed.advance(wallet.account.id, result.event.sequence);
  return { outcome: "accepted", sequence: result.event.sequence };
}
