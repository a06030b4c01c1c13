import type { EntityManager } from "@mikro-orm/core";
import type { Span, Tracer } from "@opentelemetry/api";
import type { Clock } from "../clock.js";
import type { CallbackSecretCache } from "../credentials/callback-secret-cache.js";
import type { EventFeed } from "../events/event-feed.js";
import type { NewEvent } from "../events/event.js";
import type { GroupCommit } from "../events/group-commit.js";
import type { Logger } from "../logger.js";
import { inSpan, traceparentOf, type TraceScope } from "../tracing/tracing.js";
import type { WalletAccounts, WalletFacts } from "../wallets/wallet-accounts.js";
import { MalformedCallback, eventOf, parseCallback, type ParsedCallback } from "./callback-payload.js";
import { verifyCallbackSignature, type CallbackKeyDerivation } from "./callback-signature.js";

export interface IngressDependencies {
  em: () => EntityManager;
  clock: Clock;
  secrets: CallbackSecretCache;
  feed: Pick<EventFeed, "advance">;
  /** The event log's queue: each event is answered once its batch committed. */
  events: Pick<GroupCommit, "write">;
  wallets: WalletAccounts;
  unauthorized: UnauthorizedLog;
  derivation: CallbackKeyDerivation;
  /** Callbacks signed longer ago are stale; 0 accepts any age. */
  maxAgeMs: number;
  /** The tracer of the ingress's spans; null when tracing is off. */
  tracer: Tracer | null;
}

/** How far ahead of this service's clock `meta.time` may be (the platform's clock and ours differ a little). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** Why a callback was refused: `/metrics` counts each, and 401s are logged apart (a misrouted callback or an attack). */
export type RefusalReason =
  | "malformed"
  | "kind_mismatch"
  | "stale"
  | "future"
  | "currency_mismatch"
  | "amount_precision"
  | UnauthorizedReason;

type UnauthorizedReason = "unknown_wallet" | "bad_signature";

/**
 * How a callback ended. `accepted` and `duplicate` are answered 200 (stored now, or stored before);
 * `malformed` 400 naming the field; `unauthorized` 401 for a bad signature and an unknown wallet alike.
 */
export type IngressResult =
  | { outcome: "accepted"; sequence: number }
  | { outcome: "duplicate" }
  | { outcome: "malformed"; reason: RefusalReason; field: string }
  | { outcome: "unauthorized"; reason: UnauthorizedReason };

const malformed = (reason: RefusalReason, field: string): IngressResult => ({ outcome: "malformed", reason, field });

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

const UNAUTHORIZED_LOG: Record<UnauthorizedReason, string> = {
  unknown_wallet: "callback for a wallet this service does not know (answered 401): a misrouted callback?",
  bad_signature: "callback whose signature does not verify (answered 401)",
};
/** At most one line a second for each reason: a stranger's flood of forgeries must not flood the log too. */
const LOG_INTERVAL_MS = 1000;

/** Logs the callbacks answered 401, each reason apart, at most once a second each (counting those not logged). */
export class UnauthorizedLog {
  private readonly last = new Map<UnauthorizedReason, { at: number; unlogged: number }>();

  constructor(
    private readonly logger: Pick<Logger, "warn">,
    private readonly clock: Clock,
  ) {}

  note(reason: UnauthorizedReason, walletId: string): void {
    const now = this.clock.now();
    const last = this.last.get(reason);
    if (last && now - last.at < LOG_INTERVAL_MS) {
      last.unlogged++;
      return;
    }
    this.logger.warn({ wallet: walletId, reason, unlogged: last?.unlogged ?? 0 }, UNAUTHORIZED_LOG[reason]);
    this.last.set(reason, { at: now, unlogged: 0 });
  }
}

function unauthorized(deps: IngressDependencies, reason: UnauthorizedReason, walletId: string): IngressResult {
  deps.unauthorized.note(reason, walletId);
  return { outcome: "unauthorized", reason };
}

/** The number of digits after the point. */
const fractionDigits = (amount: string) => {
  const point = amount.indexOf(".");
  return point === -1 ? 0 : amount.length - point - 1;
};

/**
 * What the signature cannot vouch for, checked against what the service knows: the time it was signed, and the
 * fields it does not cover against the wallet (the kind against the transfer's type is checked when reading).
 */
function crossCheck(deps: IngressDependencies, callback: ParsedCallback, wallet: WalletFacts, now: number): IngressResult | null {
  if (callback.signedTime > now + MAX_CLOCK_SKEW_MS) {
    return malformed("future", `meta.time (${callback.signedAt} is ahead of this service's clock)`);
  }
  if (deps.maxAgeMs > 0 && callback.signedTime < now - deps.maxAgeMs) {
    return malformed("stale", `meta.time (signed more than ${deps.maxAgeMs / 1000} seconds ago: stale)`);
  }
  const { currency } = wallet;
  if ((callback.currency.id !== null && callback.currency.id !== String(currency.iso)) ||
    (callback.currency.alpha !== null && callback.currency.alpha !== currency.alpha)) {
    return malformed("currency_mismatch", `currency (the wallet's currency is ${currency.alpha})`);
  }
  if (callback.transfer && fractionDigits(callback.transfer.amount) > currency.exp) {
    return malformed("amount_precision", `transfer.attributes.amount (${currency.alpha} has ${currency.exp} decimals)`);
  }
  return null;
}

/**
 * Verifies and stores one callback body. Input problems never throw; a thrown error means the service could not
 * decide (e.g. the database is down) and the sender should retry. With `trace` (the ingress span), each step is a
 * child span of it (`callback verify`, `callback store`, `callback publish`) and the event is stored with the
 * ingress span's `traceparent`, so that its deliveries, on any instance, join the trace.
 */
export async function ingestCallback(deps: IngressDependencies, body: string, trace?: TraceScope): Promise<IngressResult> {
  if (!trace) {
    const event = await verify(deps, body, null);
    if ("outcome" in event) return event;
    const result = await deps.events.write(event);
    if (!result.stored) return { outcome: "duplicate" };
    deps.feed.advance(result.accountId, result.sequence);
    return { outcome: "accepted", sequence: result.sequence };
  }
  const traceContext = traceparentOf(trace.context);
  const event = await inSpan(trace, "callback verify", (span) => verifyTraced(deps, body, traceContext, span));
  if ("outcome" in event) return event;
  const result = await inSpan(trace, "callback store", async (span) => {
    const written = await deps.events.write(event);
    span.setAttribute("callback.outcome", written.stored ? "accepted" : "duplicate");
    if (written.stored) span.setAttribute("callback.sequence", written.sequence);
    return written;
  });
  if (!result.stored) return { outcome: "duplicate" };
  await inSpan(trace, "callback publish", () => deps.feed.advance(result.accountId, result.sequence));
  return { outcome: "accepted", sequence: result.sequence };
}

/** `verify`, its answer told on the step's span: which callback it is, or why it is refused. */
async function verifyTraced(deps: IngressDependencies, body: string, traceContext: string | null, span: Span): Promise<IngressResult | NewEvent> {
  const event = await verify(deps, body, traceContext);
  if ("outcome" in event) {
    span.setAttribute("callback.outcome", event.outcome);
    if ("reason" in event) span.setAttribute("callback.refusal_reason", event.reason);
  } else {
    span.setAttribute("callback.wallet_id", event.walletId);
    span.setAttribute("callback.kind", event.kind);
    span.setAttribute("callback.operation_id", event.operationId);
  }
  return event;
}

/**
 * Parses a body and checks its signature and what it says against the wallet: the event to store (with the trace
 * it continues), or the refusal.
 */
async function verify(deps: IngressDependencies, body: string, traceContext: string | null): Promise<IngressResult | NewEvent> {
  let json: unknown;
  try {
    if (tooDeep(body)) return malformed("malformed", "body (nested too deeply)");
    json = JSON.parse(body);
  } catch {
    return malformed("malformed", "body (not valid JSON)");
  }
  let callback;
  try {
    callback = parseCallback(json, body);
  } catch (error) {
    if (!(error instanceof MalformedCallback)) throw error;
    return malformed(error.reason, error.field);
  }

  // An entity manager is forked only if a read is needed (the wallet and the secrets are usually remembered).
  let forked: EntityManager | undefined;
  const em = () => (forked ??= deps.em());
  const wallet = await deps.wallets.factsOf(em, callback.walletId);
  if (!wallet) return unauthorized(deps, "unknown_wallet", callback.walletId);
  const now = deps.clock.now();
  const secrets = await deps.secrets.verifying(em, wallet.accountId);
  if (!verifyCallbackSignature(secrets, callback.signedMessage, callback.sign, deps.derivation)) {
    return unauthorized(deps, "bad_signature", callback.walletId);
  }
  const refused = crossCheck(deps, callback, wallet, now);
  if (refused) return refused;
  return eventOf(callback, {
    accountId: wallet.accountId,
    currency: wallet.currency.alpha,
    payload: body,
    receivedAt: new Date(now),
    traceContext,
  });
}
