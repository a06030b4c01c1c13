/** Deposit or payout callback. */
export enum CallbackEventKind {
  DEPOSIT = "DEPOSIT",
  PAYOUT = "PAYOUT",
}

/** The platform's transfer status codes; UNKNOWN stands for a code the platform does not document (kept raw). */
export enum TransferStatus {
  CANCELED = -3,
  BLOCKED = -2,
  FAILED = -1,
  CREATED = 0,
  UNCONFIRMED = 1,
  CONFIRMED = 2,
  UNKNOWN = "UNKNOWN",
}

/** A deposit's own status (`data.attributes.status` of a deposit callback). */
export enum DepositStatus {
  CREATED = "CREATED",
  PAID = "PAID",
  CANCELED = "CANCELED",
  UNRESOLVED = "UNRESOLVED",
  UNKNOWN = "UNKNOWN",
}

/** A payout's own status (`data.attributes.status` of a payout callback). */
export enum PayoutStatus {
  WAITING = "WAITING",
  APPROVED = "APPROVED",
  CANCELED = "CANCELED",
  UNKNOWN = "UNKNOWN",
}

/**
 * A status as the platform sends it, a code, with the names of the codes it documents. Its lists are known to be
 * incomplete: any other code is kept as it came and named UNKNOWN, never refused.
 */
export class StatusCodes<Name extends string | number> {
  private readonly byCode: ReadonlyMap<number, Name>;
  private readonly byName: ReadonlyMap<Name, number>;

  constructor(
    names: readonly (readonly [number, Name])[],
    readonly unknown: Name,
  ) {
    this.byCode = new Map(names);
    this.byName = new Map(names.map(([code, name]) => [name, code]));
  }

  /** The codes the platform documents. */
  get known(): number[] {
    return [...this.byCode.keys()];
  }

  nameOf(code: number | null): Name | null {
    return code === null ? null : (this.byCode.get(code) ?? this.unknown);
  }

  /** The codes a list of names stands for, and whether it asks for the unknown ones too. */
  codesOf(names: readonly Name[]): { codes: number[]; unknown: boolean } {
    return {
      codes: names.flatMap((name) => (this.byName.has(name) ? [this.byName.get(name)!] : [])),
      unknown: names.includes(this.unknown),
    };
  }
}

export const TRANSFER_STATUSES = new StatusCodes<TransferStatus>(
  [
    [-3, TransferStatus.CANCELED],
    [-2, TransferStatus.BLOCKED],
    [-1, TransferStatus.FAILED],
    [0, TransferStatus.CREATED],
    [1, TransferStatus.UNCONFIRMED],
    [2, TransferStatus.CONFIRMED],
  ],
  TransferStatus.UNKNOWN,
);

export const DEPOSIT_STATUSES = new StatusCodes<DepositStatus>(
  [
    [2, DepositStatus.CREATED],
    [3, DepositStatus.PAID],
    [4, DepositStatus.CANCELED],
    [5, DepositStatus.UNRESOLVED],
  ],
  DepositStatus.UNKNOWN,
);

export const PAYOUT_STATUSES = new StatusCodes<PayoutStatus>(
  [
    [1, PayoutStatus.WAITING],
    [2, PayoutStatus.APPROVED],
    [3, PayoutStatus.CANCELED],
  ],
  PayoutStatus.UNKNOWN,
);

/**
 * What the platform says of a deposit or payout, as stored and as read back. A callback without a transfer (a
 * deposit created or changed before anything reached the chain, a payout canceled early) has no transfer fields.
 */
export interface EventFields {
  kind: CallbackEventKind;
  operationId: string;
  trackingId: string;
  /** The deposit's or payout's own status code (`data.attributes.status`), when sent. */
  operationStatusCode: number | null;
  transferId: string | null;
  transferStatusCode: number | null;
  amount: string | null;
  /** The amount actually credited, when sent. */
  amountCleared: string | null;
  commission: string | null;
  fee: string | null;
  currency: string | null;
  txid: string | null;
}

/** A verified callback, as the event log stores it. */
export interface NewEvent extends EventFields {
  accountId: string;
  walletId: string;
  /** The exact text the signature covered: within an account it identifies the callback (see `batch-plan.ts`). */
  signedMessage: string;
  /** `meta.time`, exactly as sent. */
  signedAt: string;
  /** The body as received, kept for audit. */
  payload: string;
  receivedAt: Date;
  /** The `traceparent` of the ingress span that stores it, which its deliveries continue; absent or null: none. */
  traceContext?: string | null;
}

/** A stored event, as readers (history, subscriptions) see it. Its wallet is known by id only. */
export interface StoredEvent extends EventFields {
  id: string;
  /** The epoch the log was in when it was read (see `epoch.ts`); null in the first epoch, whose cursors name none. */
  epoch: string | null;
  sequence: number;
  wallet: { id: string };
  signedAt: string;
  receivedAt: Date;
  transferStatus: TransferStatus | null;
  /** A deposit's status by name (null for a payout, or when not sent). */
  depositStatus: DepositStatus | null;
  payoutStatus: PayoutStatus | null;
  /**
   * Set on an event stored before the signed message identified a callback, when an earlier event of the account
   * has the same signed message: the earlier one's id. This one cannot be told from a re-cut of the earlier one.
   */
  replayOf: string | null;
  /** The `traceparent` of the ingress span that stored it (null: stored untraced). */
  traceContext: string | null;
}

/** How the log answered one appended event. */
export type WriteResult =
  | { stored: true; accountId: string; sequence: number }
  /**
   * Already stored: the same signed message (a redelivery, or a copy with altered unsigned fields), or a resend of
   * the same state with a new signature. `resend` is false for the former.
   */
  | { stored: false; resend: boolean };

/**
 * The columns of `callback_event` (the table `event.entity.ts` declares and the migrations create), in the order
 * the adapters write them. This file is the one place the code spells them: rows are made by `rowOf` and read by
 * `storedOf`.
 */
export const EVENT_COLUMNS = [
  "id", "account_id", "sequence", "wallet_id", "kind", "operation_id", "tracking_id", "operation_status",
  "transfer_id", "transfer_status", "amount", "amount_cleared", "commission", "fee", "currency", "txid", "signed_at",
  "received_at", "signed_key", "resend_key", "payload", "trace_context",
] as const;

/** A row of `callback_event`, keyed by column, as written. */
export type EventRow = Record<(typeof EVENT_COLUMNS)[number], string | number | null>;

/** The columns a `StoredEvent` is read from. */
export const READ_COLUMNS = [
  "id", "sequence", "wallet_id", "kind", "operation_id", "tracking_id", "operation_status", "transfer_id",
  "transfer_status", "amount", "amount_cleared", "commission", "fee", "currency", "txid", "signed_at", "received_at",
  "replay_of", "trace_context",
] as const;

/** A row as the drivers return it (numbers may come as text, dates as milliseconds or as dates). */
export type ReadRow = Record<(typeof READ_COLUMNS)[number], unknown>;

/** An event's row but for its sequence number, which its transaction gives it. */
export function rowOf(
  event: NewEvent,
  stored: { id: string; signedKey: string; resendKey: string; receivedAt: string | number },
): Omit<EventRow, "sequence"> {
  return {
    id: stored.id,
    account_id: event.accountId,
    wallet_id: event.walletId,
    kind: event.kind,
    operation_id: event.operationId,
    tracking_id: event.trackingId,
    operation_status: event.operationStatusCode,
    transfer_id: event.transferId,
    transfer_status: event.transferStatusCode,
    amount: event.amount,
    amount_cleared: event.amountCleared,
    commission: event.commission,
    fee: event.fee,
    currency: event.currency,
    txid: event.txid,
    signed_at: event.signedAt,
    received_at: stored.receivedAt,
    signed_key: stored.signedKey,
    resend_key: stored.resendKey,
    payload: event.payload,
    trace_context: event.traceContext ?? null,
  };
}

const text = (value: unknown) => value as string;
const optional = (value: unknown) => (value === null || value === undefined ? null : (value as string));
const optionalNumber = (value: unknown) => (value === null || value === undefined ? null : Number(value));

/** A row read back as an event, read in the epoch `epoch` names (null: the first). */
export function storedOf(row: ReadRow, epoch: string | null): StoredEvent {
  const kind = row.kind as CallbackEventKind;
  const operationStatusCode = optionalNumber(row.operation_status);
  const transferStatusCode = optionalNumber(row.transfer_status);
  return {
    id: text(row.id),
    epoch,
    sequence: Number(row.sequence),
    wallet: { id: text(row.wallet_id) },
    kind,
    operationId: text(row.operation_id),
    trackingId: text(row.tracking_id),
    operationStatusCode,
    depositStatus: kind === CallbackEventKind.DEPOSIT ? DEPOSIT_STATUSES.nameOf(operationStatusCode) : null,
    payoutStatus: kind === CallbackEventKind.PAYOUT ? PAYOUT_STATUSES.nameOf(operationStatusCode) : null,
    transferId: optional(row.transfer_id),
    transferStatusCode,
    transferStatus: TRANSFER_STATUSES.nameOf(transferStatusCode),
    amount: optional(row.amount),
    amountCleared: optional(row.amount_cleared),
    commission: optional(row.commission),
    fee: optional(row.fee),
    currency: optional(row.currency),
    txid: optional(row.txid),
    signedAt: text(row.signed_at),
    // Milliseconds on the embedded database, a date on PostgreSQL.
    receivedAt: new Date(row.received_at as number | Date),
    replayOf: optional(row.replay_of),
    traceContext: optional(row.trace_context),
  };
}
