import { CallbackEventKind, TransferStatus, type NewEvent } from "../events/event.js";
import type { SignedFields } from "./callback-signature.js";

/** What the ingress needs from a deposit or payout callback (JSON:API, as the platform sends it). */
export interface ParsedCallback {
  kind: CallbackEventKind;
  operationId: string;
  walletId: string;
  transferId: string;
  transferStatus: TransferStatus;
  trackingId: string;
  amount: string;
  commission: string | null;
  fee: string | null;
  currency: string | null;
  txid: string | null;
  signedFields: SignedFields;
  sign: unknown;
}

/** A callback that cannot be read; `field` names the first missing or invalid field. */
export class MalformedCallback extends Error {
  override name = "MalformedCallback";
  constructor(readonly field: string) {
    super(`Missing or invalid ${field}`);
  }
}

const DECIMAL = /^-?\d{1,40}(\.\d{1,40})?$/;
const STATUSES = new Set<number>(Object.values(TransferStatus).filter((value) => typeof value === "number") as number[]);
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

function decimal(value: unknown, field: string): string {
  if (typeof value !== "string" || !DECIMAL.test(value)) throw new MalformedCallback(field);
  return value;
}

function optionalDecimal(value: unknown, field: string): string | null {
  return value === undefined || value === null ? null : decimal(value, field);
}

function optionalText(value: unknown, field: string, max: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || value.length > max) throw new MalformedCallback(field);
  return value;
}

function relationshipId(relationships: Json, name: string): string {
  const relationship = object(relationships[name], `data.relationships.${name}`);
  const data = object(relationship.data, `data.relationships.${name}.data`);
  return id(data.id, `data.relationships.${name}.data.id`);
}

/** Reads a parsed JSON body as a deposit or payout callback; throws {@link MalformedCallback}. */
export function parseCallback(body: unknown): ParsedCallback {
  const root = object(body, "body");
  const data = object(root.data, "data");
  const kind =
    data.type === "deposit" ? CallbackEventKind.DEPOSIT : data.type === "payout" ? CallbackEventKind.PAYOUT : null;
  if (!kind) throw new MalformedCallback('data.type ("deposit" or "payout")');
  const operationId = id(data.id, "data.id");
  const attributes = object(data.attributes, "data.attributes");
  const trackingId = optionalText(attributes.tracking_id, "data.attributes.tracking_id", 255) ?? "";
  const relationships = object(data.relationships, "data.relationships");
  const walletId = relationshipId(relationships, "wallet");
  const transferId = relationshipId(relationships, "transfer");
  const currencyId = relationships.currency === undefined ? null : relationshipId(relationships, "currency");

  if (!Array.isArray(root.included)) throw new MalformedCallback("included");
  const included = root.included.map((item, index) => object(item, `included[${index}]`));
  const transfer = included.find((item) => item.type === "transfer" && String(item.id) === transferId);
  if (!transfer) throw new MalformedCallback(`included transfer ${transferId}`);
  const transferAttributes = object(transfer.attributes, "transfer.attributes");
  const status = transferAttributes.status;
  if (typeof status !== "number" || !STATUSES.has(status)) throw new MalformedCallback("transfer.attributes.status");
  const amount = decimal(transferAttributes.amount, "transfer.attributes.amount");
  const currency = included.find((item) => item.type === "currency" && String(item.id) === currencyId);
  const currencyAttributes = currency?.attributes as Json | undefined;

  const meta = object(root.meta, "meta");
  if (typeof meta.time !== "string" || meta.time === "" || meta.time.length > 64) throw new MalformedCallback("meta.time");
  if (meta.sign === undefined || meta.sign === null || meta.sign === "") throw new MalformedCallback("meta.sign");

  return {
    kind,
    operationId,
    walletId,
    transferId,
    transferStatus: status as TransferStatus,
    trackingId,
    amount,
    commission: optionalDecimal(transferAttributes.commission, "transfer.attributes.commission"),
    fee: optionalDecimal(transferAttributes.fee, "transfer.attributes.fee"),
    currency: optionalText(currencyAttributes?.alpha, "currency.attributes.alpha", 32),
    txid: optionalText(transferAttributes.txid, "transfer.attributes.txid", 255),
    signedFields: { status: String(status), amount, trackingId, time: meta.time },
    sign: meta.sign,
  };
}

/** A verified callback as the event log stores it: its fields, what it signed, and the body as received. */
export function eventOf(callback: ParsedCallback, received: { accountId: string; payload: string; receivedAt: Date }): NewEvent {
  return {
    accountId: received.accountId,
    walletId: callback.walletId,
    kind: callback.kind,
    operationId: callback.operationId,
    trackingId: callback.trackingId,
    transferId: callback.transferId,
    transferStatus: callback.transferStatus,
    amount: callback.amount,
    commission: callback.commission,
    fee: callback.fee,
    currency: callback.currency,
    txid: callback.txid,
    signed: callback.signedFields,
    payload: received.payload,
    receivedAt: received.receivedAt,
  };
}
