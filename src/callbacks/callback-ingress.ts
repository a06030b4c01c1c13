import type { EntityManager } from "@mikro-orm/core";
import type { Clock } from "../clock.js";
import type { CallbackSecretCache } from "../credentials/callback-secret-cache.js";
import type { EventFeed } from "../events/event-feed.js";
import type { GroupCommit } from "../events/group-commit.js";
import type { Logger } from "../logger.js";
import type { WalletAccounts } from "../wallets/wallet-accounts.js";
import { MalformedCallback, eventOf, parseCallback } from "./callback-payload.js";
import { verifyCallbackSignature, type CallbackKeyDerivation } from "./callback-signature.js";

export interface IngressDependencies {
  em: () => EntityManager;
  clock: Clock;
  secrets: CallbackSecretCache;
  feed: Pick<EventFeed, "advance">;
  /** The event log's queue: each event is answered once its batch committed. */
  events: Pick<GroupCommit, "write">;
  wallets: WalletAccounts;
  logger: Pick<Logger, "warn">;
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

/** At most `limit` brackets open in the whole text (counted by the engine's search, without reading it here). */
function fewBrackets(text: string, limit: number): boolean {
  let count = 0;
  for (const bracket of ["{", "["]) {
    for (let index = text.indexOf(bracket); index !== -1; index = text.indexOf(bracket, index + 1)) {
      if (++count > limit) return false;
    }
  }
  return true;
}

function tooDeep(text: string): boolean {
  // A body with fewer brackets than the limit cannot nest beyond it: a callback has a handful.
  if (fewBrackets(text, MAX_DEPTH)) return false;
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

  // An entity manager is forked only if a read is needed (the wallet and the secrets are usually remembered).
  let forked: EntityManager | undefined;
  const em = () => (forked ??= deps.em());
  const accountId = await deps.wallets.accountOf(em, callback.walletId);
  if (!accountId) return { outcome: "unauthorized" };
  const now = new Date(deps.clock.now());
  const secrets = await deps.secrets.verifying(em, accountId);
  if (!verifyCallbackSignature(secrets, callback.signedFields, callback.sign, deps.derivation)) {
    return { outcome: "unauthorized" };
  }

  const result = await deps.events.write(eventOf(callback, { accountId, payload: body, receivedAt: now }));
  if (!result.stored) {
    if (!result.sameTransfer) {
      deps.logger.warn(
        { wallet: callback.walletId, transfer: callback.transferId },
        "callback repeats the signed fields of a stored event for another transfer: kept the stored one",
      );
    }
    return { outcome: "duplicate" };
  }
  deps.feed.advance(result.accountId, result.sequence);
  return { outcome: "accepted", sequence: result.sequence };
}
