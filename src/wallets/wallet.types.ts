import { Directive, Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { DecimalScalar } from "../graphql/scalars.js";
import { connectionTypes } from "../graphql/connection.js";
import { WalletStatus, WalletType } from "./wallet-enums.js";

registerEnumType(WalletStatus, {
  name: "WalletStatus",
  description: "Wallet status; the platform's codes are NOT_ACTIVE = 1, IN_PROGRESS = 2, ACTIVE = 3.",
});
registerEnumType(WalletType, {
  name: "WalletType",
  description: "Wallet type; the platform's codes are MERCHANT = 1, ENTERPRISE = 2, SWAP = 5.",
});

@ObjectType("Currency", { description: "The currency a wallet holds." })
export class CurrencyObject {
  @Field(() => Int, { description: "The platform's numeric currency code, e.g. 1002 for ETH." })
  iso!: number;

  @Field(() => String, { description: "Ticker, e.g. BTC or USDT-ETH." })
  alpha!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Int, { description: "Number of decimals of amounts in this currency." })
  exp!: number;
}

@ObjectType("Wallet", { description: "A wallet of the merchant account." })
@Directive('@key(fields: "id")')
export class WalletObject {
  @Field(() => ID, { description: "The platform's wallet id." })
  id!: string;

  @Field(() => String)
  label!: string;

  @Field(() => WalletStatus)
  status!: WalletStatus;

  @Field(() => WalletType)
  type!: WalletType;

  @Field(() => CurrencyObject)
  currency!: CurrencyObject;

  @Field(() => DecimalScalar, { description: "Available for operations." })
  balanceConfirmed!: string;

  @Field(() => DecimalScalar, { description: "Unconfirmed deposits (+) and payouts (-)." })
  balancePending!: string;

  @Field(() => DecimalScalar, { description: "Incoming transfers blocked by AML checks." })
  balanceUnusable!: string;

  @Field(() => Date)
  createdAt!: Date;
}

export const { Connection: WalletConnection } = connectionTypes("Wallet", WalletObject);

@InputType("WalletFilter", { description: "Every list is optional, at most 50 values; values of a list are ORed." })
export class WalletFilterInput {
  @Field(() => [WalletStatus], { nullable: true })
  statuses?: WalletStatus[] | null;

  @Field(() => [WalletType], { nullable: true })
  types?: WalletType[] | null;

  @Field(() => [String], { nullable: true, description: "Currency tickers (alpha), e.g. BTC." })
  currencies?: string[] | null;
}
