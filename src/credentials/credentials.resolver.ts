import { Arg, Ctx, Mutation, Query, Resolver } from "type-graphql";
import { operationContext, requireViewer, revealsSecret, type GraphQLContext } from "../graphql/context.js";
import * as apiAccess from "./api-access.service.js";
import * as callbackSecrets from "./callback-secret.service.js";
import type { SecuredContext } from "./secured-operation.js";
import {
  ApiAccessObject,
  CallbackSecretStatusObject,
  RegenerateApiCredentialsInput,
  RegenerateApiCredentialsPayload,
  RegenerateCallbackSecretInput,
  RegenerateCallbackSecretPayload,
  SetApiIpWhitelistInput,
  SetApiIpWhitelistPayload,
  SetApiUserActiveInput,
  SetApiUserActivePayload,
} from "./credentials.types.js";

/** Root fields that change secrets or API access; one of them at most per request. */
export const SECURITY_MUTATIONS = [
  "setApiUserActive",
  "setApiIpWhitelist",
  "regenerateApiCredentials",
  "regenerateCallbackSecret",
] as const;

/** Thin adapter: the rules live in `api-access.service.ts` and `callback-secret.service.ts`. */
@Resolver()
export class CredentialsResolver {
  /** The confirmed operation's context: the request's, and the step-up's dependencies. */
  private secured(context: GraphQLContext): SecuredContext {
    return { ...operationContext(context), stepUp: context.services.credentials.stepUp };
  }

  @Query(() => ApiAccessObject, { description: "Owner only: API user state, IP whitelist and key metadata." })
  apiAccess(@Ctx() context: GraphQLContext) {
    return apiAccess.apiAccessStatus(context.em, requireViewer(context));
  }

  @Query(() => CallbackSecretStatusObject, { description: "Owner only: whether a callback secret is set, and since when." })
  callbackSecretStatus(@Ctx() context: GraphQLContext) {
    return callbackSecrets.callbackSecretStatus(context.em, requireViewer(context), new Date(context.services.credentials.stepUp.clock.now()));
  }

  @Mutation(() => SetApiUserActivePayload, { description: "Owner only, confirmed: turn the API user on or off." })
  async setApiUserActive(
    @Ctx() context: GraphQLContext,
    @Arg("input", () => SetApiUserActiveInput) input: SetApiUserActiveInput,
  ) {
    return { apiAccess: await apiAccess.setApiUserActive(this.secured(context), input) };
  }

  @Mutation(() => SetApiIpWhitelistPayload, { description: "Owner only, confirmed: replace the API IP whitelist." })
  async setApiIpWhitelist(
    @Ctx() context: GraphQLContext,
    @Arg("input", () => SetApiIpWhitelistInput) input: SetApiIpWhitelistInput,
  ) {
    return { apiAccess: await apiAccess.setApiIpWhitelist(this.secured(context), input) };
  }

  @Mutation(() => RegenerateApiCredentialsPayload, {
    description: "Owner only, confirmed: a new API key and secret (shown once); the previous pair and its tokens die.",
  })
  async regenerateApiCredentials(
    @Ctx() context: GraphQLContext,
    @Arg("input", () => RegenerateApiCredentialsInput) input: RegenerateApiCredentialsInput,
  ) {
    const { apiKey, apiSecret, status } = await apiAccess.regenerateApiCredentials(
      { ...this.secured(context), secretHasher: context.services.credentials.secretHasher },
      input,
    );
    revealsSecret(context);
    return { apiKey, apiSecret, apiAccess: status };
  }

  @Mutation(() => RegenerateCallbackSecretPayload, {
    description: "Owner only, confirmed: a new callback secret (shown once).",
  })
  async regenerateCallbackSecret(
    @Ctx() context: GraphQLContext,
    @Arg("input", () => RegenerateCallbackSecretInput) input: RegenerateCallbackSecretInput,
  ) {
    const { callbackSecret, status } = await callbackSecrets.regenerateCallbackSecret(
      { ...this.secured(context), callbackSecrets: context.services.credentials.callbackSecrets },
      input,
    );
    revealsSecret(context);
    return { callbackSecret, callbackSecretStatus: status };
  }
}
