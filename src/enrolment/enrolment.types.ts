import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { UserObject } from "../access/access.types.js";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "../access/password.js";
import { ConfirmationInput } from "../credentials/credentials.types.js";
import { RECOVERY_CODE_COUNT } from "./recovery-codes.js";
import { InvitationObject } from "./invitation.types.js";

@ObjectType("ConfirmationFactors", {
  description: "What the user has set up to confirm sensitive operations; a confirmation needs both a password and an active authenticator.",
})
export class ConfirmationFactorsObject {
  @Field(() => Boolean)
  hasPassword!: boolean;

  @Field(() => Boolean, { description: "An authenticator whose first code was confirmed." })
  authenticatorActive!: boolean;

  @Field(() => Boolean, { description: "An authenticator being turned on, waiting for its first code." })
  authenticatorPending!: boolean;

  @Field(() => Int, { description: "Recovery codes not used yet." })
  recoveryCodesRemaining!: number;
}

@InputType("AcceptInvitationInput")
export class AcceptInvitationInput {
  @Field(() => String, { description: "The invitation token (acs_inv_...)." })
  token!: string;

  @Field(() => String, { description: `The password to set: ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters.` })
  password!: string;
}

@ObjectType("AcceptInvitationPayload")
export class AcceptInvitationPayload {
  @Field(() => ID)
  userId!: string;

  @Field(() => String)
  email!: string;

  @Field(() => Boolean, { description: "True when the request's identity-provider token was linked to the user." })
  identityLinked!: boolean;
}

@InputType("StartAuthenticatorEnrolmentInput")
export class StartAuthenticatorEnrolmentInput {
  @Field(() => ConfirmationInput, {
    nullable: true,
    description: "Required when an authenticator is already on (the new one replaces it); not asked for otherwise.",
  })
  confirmation?: ConfirmationInput | null;
}

@ObjectType("StartAuthenticatorEnrolmentPayload", { description: "The new authenticator's secret, shown once." })
export class StartAuthenticatorEnrolmentPayload {
  @Field(() => String, { description: "The otpauth:// URL to show as a QR code." })
  otpauthUrl!: string;

  @Field(() => String, { description: "The same secret in base32, to type in." })
  secret!: string;
}

@InputType("ConfirmAuthenticatorEnrolmentInput")
export class ConfirmAuthenticatorEnrolmentInput {
  @Field(() => String, { description: "The 6-digit code the new authenticator shows." })
  otp!: string;
}

@ObjectType("ConfirmAuthenticatorEnrolmentPayload")
export class ConfirmAuthenticatorEnrolmentPayload {
  @Field(() => [String], {
    description: `${RECOVERY_CODE_COUNT} recovery codes, shown once; each confirms one operation in place of a code, with the password.`,
  })
  recoveryCodes!: string[];

  @Field(() => ConfirmationFactorsObject)
  factors!: ConfirmationFactorsObject;
}

@InputType("ChangePasswordInput")
export class ChangePasswordInput {
  @Field(() => ConfirmationInput, { description: "The current password and a current code or a recovery code." })
  confirmation!: ConfirmationInput;

  @Field(() => String, { description: `${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters.` })
  newPassword!: string;
}

@ObjectType("ChangePasswordPayload")
export class ChangePasswordPayload {
  @Field(() => ConfirmationFactorsObject)
  factors!: ConfirmationFactorsObject;
}

@InputType("ResetUserPasswordInput")
export class ResetUserPasswordInput {
  @Field(() => ID)
  userId!: string;

  @Field(() => ConfirmationInput, { description: "The Owner's own confirmation." })
  confirmation!: ConfirmationInput;
}

@ObjectType("ResetUserPasswordPayload")
export class ResetUserPasswordPayload {
  @Field(() => UserObject)
  user!: UserObject;

  @Field(() => InvitationObject, { description: "The new invitation to set a password, shown once." })
  invitation!: InvitationObject;
}

@InputType("ResetUserAuthenticatorInput")
export class ResetUserAuthenticatorInput {
  @Field(() => ID)
  userId!: string;

  @Field(() => ConfirmationInput, { description: "The Owner's own confirmation." })
  confirmation!: ConfirmationInput;
}

@ObjectType("ResetUserAuthenticatorPayload")
export class ResetUserAuthenticatorPayload {
  @Field(() => UserObject)
  user!: UserObject;
}
