import { Field, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import { connectionTypes } from "../graphql/connection.js";
import { DecimalScalar } from "../graphql/scalars.js";
import { WalletObject } from "../wallets/wallet.types.js";
import { CallbackEventKind, TransferStatus } from "../events/event.js";

registerEnumType(CallbackEventKind, { name: "CallbackEventKind", description: "A deposit or a payout callback." });
registerEnumType(TransferStatus, {
  name: "TransferStatus",
  description:
    "The platform's transfer status: CANCELED -3, BLOCKED -2, FAILED -1, CREATED 0, UNCONFIRMED 1, CONFIRMED 2.",
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

  @Field(() => String)
  transferId!: string;

  @Field(() => TransferStatus)
  transferStatus!: TransferStatus;

  @Field(() => DecimalScalar, { description: "Exactly as the platform sent it." })
  amount!: string;

  @Field(() => DecimalScalar, { nullable: true, description: "Platform fee." })
  commission!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: "Blockchain fee." })
  fee!: string | null;

  @Field(() => String, { nullable: true, description: "Currency ticker, e.g. ETH." })
  currency!: string | null;

  @Field(() => String, { nullable: true })
  txid!: string | null;

  @Field(() => String, { description: "The callback's meta.time, exactly as signed." })
  signedAt!: string;

  @Field(() => Date)
  receivedAt!: Date;
}

export const { Connection: CallbackEventConnection } = connectionTypes("CallbackEvent", CallbackEventObject);

@InputType("CallbackEventFilter", { description: "Every list is optional, at most 50 values; values of a list are ORed." })
export class CallbackEventFilterInput {
  @Field(() => [ID], { nullable: true })
  walletIds?: string[] | null;

  @Field(() => [CallbackEventKind], { nullable: true })
  kinds?: CallbackEventKind[] | null;

  @Field(() => [TransferStatus], { nullable: true })
  statuses?: TransferStatus[] | null;
}
