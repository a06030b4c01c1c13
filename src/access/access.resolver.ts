import { Arg, Ctx, Mutation, Query, Resolver } from "type-graphql";
import { operationContext, requireViewer, revealsSecret, type GraphQLContext } from "../graphql/context.js";
import * as access from "./access.service.js";
import {
  AccessListEntryObject,
  ChangeWalletRoleInput,
  ChangeWalletRolePayload,
  GrantWalletAccessInput,
  GrantWalletAccessPayload,
  RevokeWalletAccessInput,
  RevokeWalletAccessPayload,
  ViewerObject,
} from "./access.types.js";

/** Root fields that reveal a secret: a grant that adds a user answers their invitation. Sent alone, as the others. */
export const ACCESS_SECRET_MUTATIONS = ["grantWalletAccess"] as const;

/** Thin adapter: the rules live in `access.service.ts`. */
@Resolver()
export class AccessResolver {
  @Query(() => ViewerObject, { description: "The caller: their user, account and role per wallet." })
  me(@Ctx() context: GraphQLContext): ReturnType<typeof access.viewerEntry> {
    return access.viewerEntry(context.em, requireViewer(context));
  }

  @Query(() => [AccessListEntryObject], {
    description: "One entry per user of the account for the Owner; only the caller's own entry for anyone else.",
  })
  accessList(@Ctx() context: GraphQLContext): ReturnType<typeof access.accessList> {
    return access.accessList(context.em, requireViewer(context));
  }

  @Mutation(() => GrantWalletAccessPayload, {
    description:
      "Owner only: give a user a role on a wallet (READ_ONLY by default). A new e-mail adds the user and answers their invitation (shown once).",
  })
  async grantWalletAccess(
    @Ctx() context: GraphQLContext,
    @Arg("input", () => GrantWalletAccessInput) input: GrantWalletAccessInput,
  ): ReturnType<typeof access.grantWalletAccess> {
    const granted = await access.grantWalletAccess(operationContext(context), input, context.services.enrolment.invitations);
    if (granted.invitation) revealsSecret(context);
    return granted;
  }

  @Mutation(() => ChangeWalletRolePayload, { description: "Owner only: change the role a user holds on a wallet." })
  changeWalletRole(
    @Ctx() context: GraphQLContext,
    @Arg("input", () => ChangeWalletRoleInput) input: ChangeWalletRoleInput,
  ): ReturnType<typeof access.changeWalletRole> {
    return access.changeWalletRole(operationContext(context), input);
  }

  @Mutation(() => RevokeWalletAccessPayload, { description: "Owner only: remove a user's access to a wallet." })
  revokeWalletAccess(
    @Ctx() context: GraphQLContext,
    @Arg("input", () => RevokeWalletAccessInput) input: RevokeWalletAccessInput,
  ): ReturnType<typeof access.revokeWalletAccess> {
    return access.revokeWalletAccess(operationContext(context), input);
  }
}
