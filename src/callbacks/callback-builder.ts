import { randomInt } from "node:crypto";
import { CallbackEventKind, type TransferStatus } from "../events/event.js";
import { callbackSignature, signedMessage, type CallbackKeyDerivation } from "./callback-signature.js";

/** The platform's currency object, as far as a callback carries it. */
export interface CallbackCurrency {
  id: string;
  alpha: string;
  name: string;
  exp: number;
}

/** What a simulated callback is about; everything else gets realistic defaults. */
export interface CallbackSpec {
  walletId: string;
  kind: CallbackEventKind;
  /** The transfer's status code (an undocumented code is sent as it is). */
  status: TransferStatus | number;
  /** Decimal string exactly as the platform would send it, e.g. "0.300000000000000000". */
  amount: string;
  /** The merchant's reference; a number is sent as a JSON number (and signed as its decimal text). */
  trackingId: string | number;
  secret: string;
  transferId?: string;
  operationId?: string;
  /** `data.attributes.status`: the deposit's or payout's own status code; not sent when absent. */
  operationStatus?: number;
  /** A callback without a transfer: signed over the deposit's status (or nothing, for a payout), tracking id and time. */
  noTransfer?: boolean;
  /** The signed transfer's `op_type` (default 1 for a deposit, 2 for a payout). */
  opType?: number;
  amountCleared?: string;
  /** `meta.time`; defaults to now, in Unix seconds, by `now`. */
  time?: string | number;
  now?: () => number;
  txid?: string;
  address?: string;
  currency?: CallbackCurrency;
  derivation?: CallbackKeyDerivation;
}

export const ETH: CallbackCurrency = { id: "1002", alpha: "ETH", name: "Ethereum", exp: 18 };

/** A signed deposit or payout callback in the platform's JSON:API shape (see docs/callbacks.md). */
export function buildSignedCallback(spec: CallbackSpec): Record<string, unknown> {
  const currency = spec.currency ?? ETH;
  const transferId = spec.transferId ?? String(randomInt(1, 2 ** 31));
  const operationId = spec.operationId ?? String(randomInt(1, 2 ** 31));
  const time = spec.time ?? Math.floor((spec.now ?? Date.now)() / 1000).toString();
  const address = spec.address ?? "0xcb959a408cbfbe64116a2dadc20188c290226fae";
  const now = new Date().toISOString();
  const message = signedMessage({
    kind: spec.kind,
    transfer: spec.noTransfer ? null : { status: String(spec.status), amount: spec.amount },
    operationStatus: spec.operationStatus === undefined ? null : String(spec.operationStatus),
    trackingId: String(spec.trackingId),
    time: String(time),
  });
  const sign = callbackSignature(spec.secret, message, spec.derivation);
  const currencyRelationship = { data: { type: "currency", id: currency.id } };
  const transfer = {
    type: "transfer",
    id: transferId,
    attributes: {
      op_id: Number(operationId),
      op_type: spec.opType ?? (spec.kind === CallbackEventKind.PAYOUT ? 2 : 1),
      amount: spec.amount,
      ...(spec.amountCleared === undefined ? {} : { amount_cleared: spec.amountCleared }),
      commission: "0",
      fee: "0",
      txid: spec.txid ?? `0x${transferId.padStart(64, "0")}`,
      status: spec.status,
      user_message: null,
      created_at: now,
      updated_at: now,
    },
    relationships: { currency: currencyRelationship },
  };
  return {
    data: {
      type: spec.kind === CallbackEventKind.PAYOUT ? "payout" : "deposit",
      id: operationId,
      attributes: {
        address,
        created_at: now,
        tracking_id: spec.trackingId,
        ...(spec.operationStatus === undefined ? {} : { status: spec.operationStatus }),
        target_paid: spec.amount,
        destination: { address_type: null, address },
      },
      relationships: {
        currency: currencyRelationship,
        wallet: { data: { type: "wallet", id: spec.walletId } },
        ...(spec.noTransfer ? {} : { transfer: { data: { type: "transfer", id: transferId } } }),
      },
    },
    included: [
      {
        type: "currency",
        id: currency.id,
        attributes: {
          iso: Number(currency.id),
          name: currency.name,
          alpha: currency.alpha,
          alias: null,
          exp: currency.exp,
          confirmation_blocks: 3,
          minimal_transfer_amount: "0",
          block_delay: 30,
        },
      },
      ...(spec.noTransfer ? [] : [transfer]),
    ],
    meta: { time, sign },
  };
}
