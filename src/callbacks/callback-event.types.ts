import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { connectionTypes } from "../graphql/connection.js";
import { DecimalScalar } from "../graphql/scalars.js";
import { WalletObject } from "../wallets/wallet.types.js";
import { CallbackEventKind, DepositStatus, PayoutStatus, TransferStatus } from "../events/event.js";

registerEnumType(CallbackEventKind, { name: "CallbackEventKind", description: "A deposit or a payout callback." });
registerEnumType(TransferStatus, {
  name: "TransferStatus",
  description:
    "The platform's transfer status: CANCELED -3, BLOCKED -2, FAILED -1, CREATED 0, UNCONFIRMED 1, CONFIRMED 2; " +
    "UNKNOWN for any other code (see `transferStatusCode`).",
});
registerEnumType(DepositStatus, {
  name: "DepositStatus",
  description:
    "A deposit's own status: CREATED 2 (or not yet paid in full), PAID 3, CANCELED 4, UNRESOLVED 5 (overpaid, paid " +
    "late, or paid again); UNKNOWN for any other code (see `statusCode`).",
});
registerEnumType(PayoutStatus, {
  name: "PayoutStatus",
  description: "A payout's own status: WAITING 1 (for approval), APPROVED 2, CANCELED 3; UNKNOWN for any other code (see `statusCode`).",
});

@ObjectType("CallbackEvent", { description: "A deposit or payout callback of the platform, verified and stored." })
export class CallbackEventObject {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { description: "Resume point: pass it as `after` to get what came after this event." })
  cursor!: string;

  @Field(() => CallbackEventKind)
  kind!: CallbackEventKind;

  @Field(() => WalletObject)
  wallet!: WalletObject;

  @Field(() => String, { description: "The deposit's or payout's id on the platform." })
  operationId!: string;

  @Field(() => String, { description: "The merchant's own reference; may be empty." })
  trackingId!: string;

  @Field(() => DepositStatus, { nullable: true, description: "A deposit's own status, when the callback sent it." })
  depositStatus!: DepositStatus | null;

  @Field(() => PayoutStatus, { nullable: true, description: "A payout's own status, when the callback sent it." })
  payoutStatus!: PayoutStatus | null;

  @Field(() => Int, { nullable: true, name: "statusCode", description: "The deposit's or payout's status code, as sent." })
  operationStatusCode!: number | null;

  @Field(() => String, {
    nullable: true,
    description: "The signed transfer; null for a callback without one (a deposit not yet on chain, a payout canceled early).",
  })
  transferId!: string | null;

  @Field(() => TransferStatus, { nullable: true })
  transferStatus!: TransferStatus | null;

  @Field(() => Int, { nullable: true, description: "The transfer's status code, as sent." })
  transferStatusCode!: number | null;

  @Field(() => DecimalScalar, { nullable: true, description: "The transfer's amount, exactly as the platform sent it." })
  amount!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: "The amount actually credited, when sent." })
  amountCleared!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: "Platform fee." })
  commission!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: "Blockchain fee." })
  fee!: string | null;

  @Field(() => String, { nullable: true, description: "Currency ticker, e.g. ETH: the wallet's." })
  currency!: string | null;

  @Field(() => String, { nullable: true })
  txid!: string | null;

  @Field(() => String, { description: "The callback's meta.time, exactly as signed." })
  signedAt!: string;

  @Field(() => Date)
  receivedAt!: Date;

  @Field(() => ID, {
    nullable: true,
    description:
      "Set on an event stored before the signed message identified a callback, when an earlier event has the same " +
      "signed message: the earlier event's id. This one cannot be told from a re-cut of the earlier one.",
  })
  replayOf!: string | null;
}

@ObjectType("CallbackEventRetention", { description: "How far back the history of callback events reaches." })
export class CallbackEventRetentionObject {
  @Field(() => Int, { nullable: true, description: "Events are kept this many days after they arrive; null: for good." })
  days!: number | null;

  @Field(() => String, {
    nullable: true,
    description:
      "The position just before the oldest event kept: pass it as `after` to read every event still kept, or to " +
      "subscribe from the start of an empty history without missing an event stored meanwhile. A cursor before it is " +
      "answered with CURSOR_EXPIRED. Never null.",
  })
  earliestCursor!: string | null;
}

export const { Connection: CallbackEventConnection } = connectionTypes("CallbackEvent", CallbackEventObject);

@InputType("CallbackEventFilter", { description: "Every list is optional, at most 50 values; values of a list are ORed." })
export class CallbackEventFilterInput {
  @Field(() => [ID], { nullable: true })
  walletIds?: string[] | null;

  @Field(() => [CallbackEventKind], { nullable: true })
  kinds?: CallbackEventKind[] | null;

  @Field(() => [TransferStatus], { nullable: true, description: "The transfer's status; never matches an event without a transfer." })
  statuses?: TransferStatus[] | null;

  @Field(() => [DepositStatus], { nullable: true, description: "Deposits only, by their own status." })
  depositStatuses?: DepositStatus[] | null;

  @Field(() => [PayoutStatus], { nullable: true, description: "Payouts only, by their own status." })
  payoutStatuses?: PayoutStatus[] | null;
}
