import { Arg, Ctx, FieldResolver, Mutation, Resolver, Root } from "type-graphql";
import type { AccessEntry } from "../access/access.service.js";
import { ViewerObject } from "../access/access.types.js";
import { providerIdentity } from "../auth/identity.js";
import type { ConfirmedContext } from "../confirmation/confirmed-operation.js";
import { operationContext, revealsSecret, type GraphQLContext } from "../graphql/context.js";
import * as enrolment from "./enrolment.service.js";
import {
  AcceptInvitationInput,
  AcceptInvitationPayload,
  ChangePasswordInput,
  ChangePasswordPayload,
  ConfirmationFactorsObject,
  ConfirmAuthenticatorEnrolmentInput,
  ConfirmAuthenticatorEnrolmentPayload,
  ResetUserAuthenticatorInput,
  ResetUserAuthenticatorPayload,
  ResetUserPasswordInput,
  ResetUserPasswordPayload,
  StartAuthenticatorEnrolmentInput,
  StartAuthenticatorEnrolmentPayload,
} from "./enrolment.types.js";
import { acceptInvitation } from "./invitations.js";

/**
 * Root fields that set or reveal a password, an authenticator secret, recovery codes or an invitation: one of
 * them at most per request, alone (each spends a code or reveals a secret, and is audited on its own).
 */
export const ENROLMENT_MUTATIONS = [
  "acceptInvitation",
  "startAuthenticatorEnrolment",
  "confirmAuthenticatorEnrolment",
  "changePassword",
  "resetUserPassword",
  "resetUserAuthenticator",
] as const;

/** Root fields answered without a signed-in user: accepting an invitation is how a person gets one. */
export const PUBLIC_MUTATIONS = ["acceptInvitation"] as const;

/** Thin adapter: the rules live in `enrolment.service.ts` and `invitations.ts`. */
@Resolver()
export class EnrolmentResolver {
  /** The confirmed operation's context: the request's, and the step-up's dependencies. */
  private confirmed(context: GraphQLContext): ConfirmedContext {
    return { ...operationContext(context), stepUp: context.services.enrolment.stepUp };
  }

  @Mutation(() => AcceptInvitationPayload, {
    description:
      "No sign-in needed: set the password of an invited user with the invitation's one-time token. With an identity-provider bearer token, its subject is linked to the user.",
  })
  async acceptInvitation(
    @Ctx() context: GraphQLContext,
    @Arg("input", () => AcceptInvitationInput) input: AcceptInvitationInput,
  ): Promise<AcceptInvitationPayload> {
    const identity = await providerIdentity(context.services.authentication.tokens, context.authorization);
    return acceptInvitation(context.em, context.services.enrolment.invitations, {
      token: input.token,
      password: input.password,
      identity,
      signedInUserId: context.viewer?.userId ?? null,
      clientAddress: context.clientAddress,
      logger: context.services.logger,
    });
  }

  @Mutation(() => StartAuthenticatorEnrolmentPayload, {
    description:
      "Start turning on the authenticator: a new secret (shown once) that counts once a first code is confirmed. Replacing an active authenticator needs confirmation.",
  })
  async startAuthenticatorEnrolment(
    @Ctx() context: GraphQLContext,
    @Arg("input", () => StartAuthenticatorEnrolmentInput) input: StartAuthenticatorEnrolmentInput,
  ): Promise<StartAuthenticatorEnrolmentPayload> {
    const started = await enrolment.startAuthenticatorEnrolment(this.confirmed(context), { confirmation: input.confirmation });
    revealsSecret(context);
    return started;
  }

  @Mutation(() => ConfirmAuthenticatorEnrolmentPayload, {
    description: "Turn on the authenticator being set up with its first code; answers new recovery codes, shown once.",
  })
  async confirmAuthenticatorEnrolment(
    @Ctx() context: GraphQLContext,
    @Arg("input", () => ConfirmAuthenticatorEnrolmentInput) input: ConfirmAuthenticatorEnrolmentInput,
  ): Promise<ConfirmAuthenticatorEnrolmentPayload> {
    const confirmed = this.confirmed(context);
    const { recoveryCodes } = await enrolment.confirmAuthenticatorEnrolment(confirmed, input);
    revealsSecret(context);
    return { recoveryCodes, factors: await enrolment.confirmationFactors(context.em, confirmed.viewer.userId) };
  }

  @Mutation(() => ChangePasswordPayload, { description: "Confirmed with your current factors: change your password." })
  async changePassword(
    @Ctx() context: GraphQLContext,
    @Arg("input", () => ChangePasswordInput) input: ChangePasswordInput,
  ): Promise<ChangePasswordPayload> {
    return { factors: await enrolment.changePassword(this.confirmed(context), input) };
  }

  @Mutation(() => ResetUserPasswordPayload, {
    description: "Owner only, confirmed: clear a user's password and issue a new invitation to set one (shown once).",
  })
  async resetUserPassword(
    @Ctx() context: GraphQLContext,
    @Arg("input", () => ResetUserPasswordInput) input: ResetUserPasswordInput,
  ) {
    const reset = await enrolment.resetUserPassword(
      { ...this.confirmed(context), invitations: context.services.enrolment.invitations },
      input,
    );
    revealsSecret(context);
    return reset;
  }

  @Mutation(() => ResetUserAuthenticatorPayload, {
    description: "Owner only, confirmed: clear a user's authenticator and recovery codes; they turn one on again.",
  })
  resetUserAuthenticator(
    @Ctx() context: GraphQLContext,
    @Arg("input", () => ResetUserAuthenticatorInput) input: ResetUserAuthenticatorInput,
  ) {
    return enrolment.resetUserAuthenticator(this.confirmed(context), input);
  }
}

/** The viewer's confirmation factors, for the settings page (`me { factors }`). */
@Resolver(() => ViewerObject)
export class ViewerFactorsResolver {
  @FieldResolver(() => ConfirmationFactorsObject, {
    description: "What you have set up to confirm sensitive operations (no secrets).",
  })
  factors(@Root() entry: AccessEntry, @Ctx() context: GraphQLContext): Promise<enrolment.ConfirmationFactors> {
    return enrolment.confirmationFactors(context.em, entry.user.id);
  }
}
