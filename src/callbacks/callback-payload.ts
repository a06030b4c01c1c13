import { CallbackEventKind, type NewEvent } from "../events/event.js";
import { signedMessage } from "./callback-signature.js";

/** The transfer a callback's signature covers, as sent. */
export interface SignedTransfer {
  id: string;
  /** `status` as signed (decimal text) and as a code. */
  statusText: string;
  status: number;
  amount: string;
  amountCleared: string | null;
  commission: string | null;
  fee: string | null;
  txid: string | null;
}

/** What the ingress needs from a deposit or payout callback (JSON:API, as the platform sends it). */
export interface ParsedCallback {
  kind: CallbackEventKind;
  operationId: string;
  walletId: string;
  /** `data.attributes.status` (the deposit's or payout's own status), when sent. */
  operationStatus: number | null;
  /** The signed transfer (see `signedTransfer`); null for a callback without one. */
  transfer: SignedTransfer | null;
  trackingId: string;
  /** The currency the callback names (its id, the platform's numeric code, and its ticker), when it names one. */
  currency: { id: string | null; alpha: string | null };
  /** `meta.time` as sent, and the moment it stands for (milliseconds since the epoch). */
  signedAt: string;
  signedTime: number;
  /** The exact text the signature covers. */
  signedMessage: string;
  sign: unknown;
}

/**
 * A callback that cannot be read; `field` names the first missing or invalid field. `kind_mismatch`: the transfer
 * moves funds the other way than the callback's kind says.
 */
export class MalformedCallback extends Error {
  override name = "MalformedCallback";
  constructor(
    readonly field: string,
    readonly reason: "malformed" | "kind_mismatch" = "malformed",
  ) {
    super(`Missing or invalid ${field}`);
  }
}

const DECIMAL = /^-?\d{1,40}(\.\d{1,40})?$/;
/** An amount: digits, and at most one point with digits after it (no sign, no exponent). */
const AMOUNT = /^\d{1,40}(\.\d{1,40})?$/;
const INTEGER_TEXT = /^-?\d{1,10}$/;
const UNIX_SECONDS = /^\d{1,11}$/;
/** ISO 8601 as the platform writes date-times: `YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm)`. */
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Transfer types that move funds in and out of a wallet (the platform's `op_type` codes). */
const INCOMING_OP_TYPES = new Set([1, 14, 15, 19, 25, 32, 49]);
const OUTGOING_OP_TYPES = new Set([2, 9, 11, 13, 16, 20, 23, 24, 26]);
/** The type of the transfer a deposit's and a payout's callback signs. */
const SIGNED_OP_TYPE: Record<CallbackEventKind, number> = { DEPOSIT: 1, PAYOUT: 2 };
/** Transportation (a token transport fee): never the signed transfer. */
const TRANSPORTATION_OP_TYPE = 9;

type Json = Record<string, unknown>;

function object(value: unknown, field: string): Json {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new MalformedCallback(field);
  return value as Json;
}

/** A JSON:API id: a non-empty string or a non-negative integer, at most 64 characters. */
function id(value: unknown, field: string): string {
  const text = typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? String(value) : value;
  if (typeof text !== "string" || text === "" || text.length > 64 || !/^[A-Za-z0-9_-]+$/.test(text)) {
    throw new MalformedCallback(field);
  }
  return text;
}

const written = new Map<string, RegExp>();

/** Finds `"name": text` followed by the end of the value (status codes and types repeat: their patterns are kept). */
function writtenAs(name: string, text: string): RegExp {
  const key = `${name}:${text}`;
  let pattern = written.get(key);
  if (!pattern) {
    if (written.size >= 1000) written.clear();
    written.set(key, (pattern = new RegExp(`"${name}"\\s*:\\s*${text}\\s*[,}\\]]`)));
  }
  return pattern;
}

/**
 * A field the platform's serializers send as text or as a number: a number counts (and is signed) as its decimal
 * text when it is a safe integer written as one; any other number (a fraction, an exponent, beyond 2^53) is
 * refused. Parsing keeps a number's value, not how it was written, so `source` (the body's text) shows that: the
 * field's name followed by that decimal text.
 */
function textOrInteger(value: unknown, field: string, max: number, source: string): string {
  if (typeof value === "number") {
    const text = String(value);
    const name = field.slice(field.lastIndexOf(".") + 1);
    if (!Number.isSafeInteger(value) || !writtenAs(name, text).test(source)) throw new MalformedCallback(field);
    return text;
  }
  if (typeof value !== "string" || value.length > max) throw new MalformedCallback(field);
  return value;
}

/** A status code: an integer, or its decimal text, within 32 bits; its text is what is signed. */
function code(value: unknown, field: string, source: string): { text: string; code: number } {
  const text = textOrInteger(value, field, 11, source);
  const number = Number(text);
  if (!INTEGER_TEXT.test(text) || number < -(2 ** 31) || number >= 2 ** 31) throw new MalformedCallback(field);
  return { text, code: number };
}

function decimal(value: unknown, field: string, pattern = DECIMAL): string {
  if (typeof value !== "string" || !pattern.test(value)) throw new MalformedCallback(field);
  return value;
}

function optionalDecimal(value: unknown, field: string, pattern = DECIMAL): string | null {
  return value === undefined || value === null ? null : decimal(value, field, pattern);
}

function optionalText(value: unknown, field: string, max: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || value.length > max) throw new MalformedCallback(field);
  return value;
}

/** The id a relationship names, or null when there is none (absent, or `data: null`). */
function relationshipId(relationships: Json | undefined, name: string, prefix: string): string | null {
  const relationship = relationships?.[name];
  if (relationship === undefined || relationship === null) return null;
  const data = object(relationship, `${prefix}.${name}`).data;
  if (data === null) return null;
  return id(object(data, `${prefix}.${name}.data`).id, `${prefix}.${name}.data.id`);
}

/** The moment `meta.time` stands for: Unix seconds, or an ISO 8601 date-time; NaN for anything else. */
export function timeOf(text: string): number {
  if (UNIX_SECONDS.test(text)) return Number(text) * 1000;
  const match = ISO_8601.exec(text);
  if (!match) return Number.NaN;
  const [, year, month, day, hour, minute, second, fraction = "", zone] = match;
  const fields = [year, month, day, hour, minute, second].map(Number) as [number, number, number, number, number, number];
  const [y, mo, d, h, mi, s] = fields;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return Number.NaN;
  const utc = Date.UTC(y, mo - 1, d, h, mi, s, Number(fraction.padEnd(3, "0").slice(0, 3)));
  if (new Date(utc).getUTCDate() !== d) return Number.NaN;
  if (zone === "Z") return utc;
  const offset = (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(4, 6))) * 60_000;
  return zone!.startsWith("+") ? utc - offset : utc + offset;
}

/**
 * The transfer a callback's signature covers, among the transfers in `included` (in any order): the one of the
 * kind's own type (op_type 1 for a deposit, 2 for a payout); else the one `data.relationships.transfer` names,
 * unless it is a Transportation transfer (op_type 9); else none, and the callback is signed without a transfer.
 */
function signedTransfer(kind: CallbackEventKind, included: Json[], namedId: string | null): Json | null {
  const transfers = included.filter((item) => item.type === "transfer");
  const opType = (transfer: Json) => {
    const attributes = transfer.attributes as Json | null | undefined;
    const value = attributes && typeof attributes === "object" ? attributes.op_type : undefined;
    return typeof value === "number" ? value : typeof value === "string" && /^\d{1,6}$/.test(value) ? Number(value) : null;
  };
  const named = namedId === null ? undefined : transfers.find((item) => String(item.id) === namedId);
  const ownType = transfers.filter((item) => opType(item) === SIGNED_OP_TYPE[kind]);
  if (ownType.length > 0) return named && ownType.includes(named) ? named : ownType[0]!;
  if (named && opType(named) !== TRANSPORTATION_OP_TYPE) return named;
  return null;
}

function parseTransfer(kind: CallbackEventKind, transfer: Json, source: string): SignedTransfer {
  const transferId = id(transfer.id, "transfer.id");
  const attributes = object(transfer.attributes, "transfer.attributes");
  const opType = code(attributes.op_type, "transfer.attributes.op_type", source).code;
  const direction = kind === CallbackEventKind.DEPOSIT ? INCOMING_OP_TYPES : OUTGOING_OP_TYPES;
  if (!direction.has(opType)) {
    throw new MalformedCallback(
      `transfer.attributes.op_type (${opType} does not move funds the way a ${kind.toLowerCase()} does)`,
      "kind_mismatch",
    );
  }
  const status = code(attributes.status, "transfer.attributes.status", source);
  return {
    id: transferId,
    statusText: status.text,
    status: status.code,
    amount: decimal(attributes.amount, "transfer.attributes.amount", AMOUNT),
    amountCleared: optionalDecimal(attributes.amount_cleared, "transfer.attributes.amount_cleared"),
    commission: optionalDecimal(attributes.commission, "transfer.attributes.commission"),
    fee: optionalDecimal(attributes.fee, "transfer.attributes.fee"),
    txid: optionalText(attributes.txid, "transfer.attributes.txid", 255),
  };
}

/**
 * Reads a parsed JSON body as a deposit or payout callback; throws {@link MalformedCallback}. `source` is the text
 * it was parsed from.
 */
export function parseCallback(body: unknown, source: string): ParsedCallback {
  const root = object(body, "body");
  const data = object(root.data, "data");
  const kind =
    data.type === "deposit" ? CallbackEventKind.DEPOSIT : data.type === "payout" ? CallbackEventKind.PAYOUT : null;
  if (!kind) throw new MalformedCallback('data.type ("deposit" or "payout")');
  const operationId = id(data.id, "data.id");
  const attributes = object(data.attributes, "data.attributes");
  const trackingId =
    attributes.tracking_id === undefined || attributes.tracking_id === null
      ? ""
      : textOrInteger(attributes.tracking_id, "data.attributes.tracking_id", 255, source);
  const operationStatus =
    attributes.status === undefined || attributes.status === null ? null : code(attributes.status, "data.attributes.status", source);
  const relationships = object(data.relationships, "data.relationships");
  const walletId = relationshipId(relationships, "wallet", "data.relationships");
  if (walletId === null) throw new MalformedCallback("data.relationships.wallet");

  const included = root.included === undefined || root.included === null ? [] : root.included;
  if (!Array.isArray(included)) throw new MalformedCallback("included");
  const items = included.map((item, index) => object(item, `included[${index}]`));
  const signed = signedTransfer(kind, items, relationshipId(relationships, "transfer", "data.relationships"));
  const transfer = signed ? parseTransfer(kind, signed, source) : null;
  if (!transfer && kind === CallbackEventKind.DEPOSIT && !operationStatus) {
    // A deposit without a transfer signs its own status.
    throw new MalformedCallback("data.attributes.status (a deposit callback without a transfer signs it)");
  }

  const currencyId =
    relationshipId(relationships, "currency", "data.relationships") ??
    (signed ? relationshipId(signed.relationships as Json | undefined, "currency", "transfer.relationships") : null);
  const currency = currencyId === null ? undefined : items.find((item) => item.type === "currency" && String(item.id) === currencyId);
  const currencyAttributes = currency?.attributes as Json | undefined;

  const meta = object(root.meta, "meta");
  const signedAt = textOrInteger(meta.time, "meta.time", 64, source);
  const signedTime = timeOf(signedAt);
  if (Number.isNaN(signedTime)) throw new MalformedCallback("meta.time (Unix seconds or an ISO 8601 date-time)");
  if (meta.sign === undefined || meta.sign === null || meta.sign === "") throw new MalformedCallback("meta.sign");

  return {
    kind,
    operationId,
    walletId,
    operationStatus: operationStatus?.code ?? null,
    transfer,
    trackingId,
    currency: { id: currencyId, alpha: optionalText(currencyAttributes?.alpha, "currency.attributes.alpha", 32) },
    signedAt,
    signedTime,
    signedMessage: signedMessage({
      kind,
      transfer: transfer && { status: transfer.statusText, amount: transfer.amount },
      operationStatus: operationStatus?.text ?? null,
      trackingId,
      time: signedAt,
    }),
    sign: meta.sign,
  };
}

/** A verified callback as the event log stores it: its fields, what it signed, and the body as received. */
export function eventOf(
  callback: ParsedCallback,
  received: { accountId: string; currency: string; payload: string; receivedAt: Date; traceContext?: string | null },
): NewEvent {
  const transfer = callback.transfer;
  return {
    accountId: received.accountId,
    walletId: callback.walletId,
    kind: callback.kind,
    operationId: callback.operationId,
    trackingId: callback.trackingId,
    operationStatusCode: callback.operationStatus,
    transferId: transfer?.id ?? null,
    transferStatusCode: transfer?.status ?? null,
    amount: transfer?.amount ?? null,
    amountCleared: transfer?.amountCleared ?? null,
    commission: transfer?.commission ?? null,
    fee: transfer?.fee ?? null,
    currency: received.currency,
    txid: transfer?.txid ?? null,
    signedMessage: callback.signedMessage,
    signedAt: callback.signedAt,
    payload: received.payload,
    receivedAt: received.receivedAt,
    traceContext: received.traceContext ?? null,
  };
}
