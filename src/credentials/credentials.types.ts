import { Field, InputType, Int, ObjectType } from "type-graphql";
import { UserObject } from "../access/access.types.js";
import { MAX_WHITELIST_ENTRIES } from "../network/ip-whitelist.js";
import { MAX_PREVIOUS_SECRET_VALID_FOR } from "./callback-secret.service.js";

@InputType("ConfirmationInput", {
  description: "Step-up confirmation: the caller's password and a current 2FA code (or one of their recovery codes).",
})
export class ConfirmationInput {
  @Field(() => String)
  password!: string;

  @Field(() => String, {
    description:
      "The 6-digit code of the authenticator app (TOTP, 30-second steps), or an unused recovery code (xxxxx-xxxxx), which this spends.",
  })
  otp!: string;
}

@ObjectType("ApiCredentialsInfo", { description: "Metadata of the current API key; the secret is never shown again." })
export class ApiCredentialsInfoObject {
  @Field(() => String, { description: "The API key (client_id)." })
  apiKey!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: "When /token last issued a token for this key." })
  lastUsedAt!: Date | null;
}

@ObjectType("ApiAccess", { description: "The account's API access." })
export class ApiAccessObject {
  @Field(() => Boolean)
  apiUserActive!: boolean;

  @Field(() => UserObject, { nullable: true, description: "Created by the first activation." })
  apiUser!: UserObject | null;

  @Field(() => [String], { description: "Addresses and CIDR ranges allowed to use the API; empty: any address." })
  ipWhitelist!: string[];

  @Field(() => ApiCredentialsInfoObject, { nullable: true })
  credentials!: ApiCredentialsInfoObject | null;
}

@ObjectType("CallbackSecretStatus", { description: "The callback secret's state; the secret itself is never shown." })
export class CallbackSecretStatusObject {
  @Field(() => Boolean)
  isSet!: boolean;

  @Field(() => Date, { nullable: true })
  createdAt!: Date | null;

  @Field(() => Date, { nullable: true, description: "When the previous secret stops verifying callbacks." })
  previousSecretExpiresAt!: Date | null;
}

@InputType("SetApiUserActiveInput")
export class SetApiUserActiveInput {
  @Field(() => Boolean)
  active!: boolean;

  @Field(() => ConfirmationInput)
  confirmation!: ConfirmationInput;
}

@ObjectType("SetApiUserActivePayload")
export class SetApiUserActivePayload {
  @Field(() => ApiAccessObject)
  apiAccess!: ApiAccessObject;
}

@InputType("SetApiIpWhitelistInput")
export class SetApiIpWhitelistInput {
  @Field(() => [String], {
    description: `IPv4/IPv6 addresses and CIDR ranges, at most ${MAX_WHITELIST_ENTRIES}; an empty list lifts the restriction.`,
  })
  entries!: string[];

  @Field(() => ConfirmationInput)
  confirmation!: ConfirmationInput;
}

@ObjectType("SetApiIpWhitelistPayload")
export class SetApiIpWhitelistPayload {
  @Field(() => ApiAccessObject)
  apiAccess!: ApiAccessObject;
}

@InputType("RegenerateApiCredentialsInput")
export class RegenerateApiCredentialsInput {
  @Field(() => ConfirmationInput)
  confirmation!: ConfirmationInput;
}

@ObjectType("RegenerateApiCredentialsPayload", { description: "Shown once: store the secret now." })
export class RegenerateApiCredentialsPayload {
  @Field(() => String)
  apiKey!: string;

  @Field(() => String, { description: "Shown only in this response." })
  apiSecret!: string;

  @Field(() => ApiAccessObject)
  apiAccess!: ApiAccessObject;
}

@InputType("RegenerateCallbackSecretInput")
export class RegenerateCallbackSecretInput {
  @Field(() => ConfirmationInput)
  confirmation!: ConfirmationInput;

  @Field(() => Int, {
    nullable: true,
    defaultValue: 0,
    description: `Seconds (0 to ${MAX_PREVIOUS_SECRET_VALID_FOR}) the previous secret keeps verifying callbacks; 0: it dies at once.`,
  })
  previousSecretValidFor?: number | null;
}

@ObjectType("RegenerateCallbackSecretPayload", { description: "Shown once: store the secret now." })
export class RegenerateCallbackSecretPayload {
  @Field(() => String, { description: "Shown only in this response." })
  callbackSecret!: string;

  @Field(() => CallbackSecretStatusObject)
  callbackSecretStatus!: CallbackSecretStatusObject;
}
