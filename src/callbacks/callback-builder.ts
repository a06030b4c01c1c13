import { randomInt } from "node:crypto";
import type { CallbackEventKind, TransferStatus } from "../events/event.js";
import { callbackSignature, type CallbackKeyDerivation } from "./callback-signature.js";

/** What a simulated callback is about; everything else gets realistic defaults. */
export interface CallbackSpec {
  walletId: string;
  kind: CallbackEventKind;
  status: TransferStatus;
  /** Decimal string exactly as the platform would send it, e.g. "0.300000000000000000". */
  amount: string;
  trackingId: string;
  secret: string;
  transferId?: string;
  operationId?: string;
  /** `meta.time`; defaults to now, in seconds. */
  time?: string;
  txid?: string;
  address?: string;
  currency?: { id: string; alpha: string; name: string; exp: number };
  derivation?: CallbackKeyDerivation;
}

const ETH = { id: "1002", alpha: "ETH", name: "Ethereum", exp: 18 };

/** A signed deposit or payout callback in the platform's JSON:API shape (see docs/callbacks.md). */
export function buildSignedCallback(spec: CallbackSpec): Record<string, unknown> {
  const currency = spec.currency ?? ETH;
  const transferId = spec.transferId ?? String(randomInt(1, 2 ** 31));
  const operationId = spec.operationId ?? String(randomInt(1, 2 ** 31));
  const time = spec.time ?? String(Math.floor(Date.now() / 1000));
  const address = spec.address ?? "0xcb959a408cbfbe64116a2dadc20188c290226fae";
  const now = new Date().toISOString();
  const sign = callbackSignature(
    spec.secret,
    { status: String(spec.status), amount: spec.amount, trackingId: spec.trackingId, time },
    spec.derivation,
  );
  return {
    data: {
      type: spec.kind === "PAYOUT" ? "payout" : "deposit",
      id: operationId,
      attributes: {
        address,
        created_at: now,
        tracking_id: spec.trackingId,
        target_paid: spec.amount,
        destination: { address_type: null, address },
      },
      relationships: {
        currency: { data: { type: "currency", id: currency.id } },
        wallet: { data: { type: "wallet", id: spec.walletId } },
        transfer: { data: { type: "transfer", id: transferId } },
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
      {
        type: "transfer",
        id: transferId,
        attributes: {
          op_id: Number(operationId),
          op_type: spec.kind === "PAYOUT" ? 2 : 1,
          amount: spec.amount,
          commission: "0",
          fee: "0",
          txid: spec.txid ?? `0x${transferId.padStart(64, "0")}`,
          status: spec.status,
          user_message: null,
          created_at: now,
          updated_at: now,
        },
      },
    ],
    meta: { time, sign },
  };
}
