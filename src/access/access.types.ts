import { Directive, Field, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import { InvitationObject } from "../enrolment/invitation.types.js";
import { WalletObject } from "../wallets/wallet.types.js";
import { UserKind, WalletRole } from "./roles.js";

registerEnumType(WalletRole, {
  name: "WalletRole",
  description: "A role on one wallet. OWNER belongs to the account's single Owner and cannot be granted.",
});
registerEnumType(UserKind, { name: "UserKind", description: "HUMAN users, or the account's API user." });

@ObjectType("User", { description: "A user of a merchant account." })
@Directive('@key(fields: "id")')
export class UserObject {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  email!: string;

  @Field(() => UserKind)
  kind!: UserKind;
}

@ObjectType("Account", { description: "The merchant's legal entity." })
export class AccountObject {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;
}

@ObjectType("WalletGrant", { description: "A role held on one wallet." })
export class WalletGrantObject {
  @Field(() => WalletObject)
  wallet!: WalletObject;

  @Field(() => WalletRole)
  role!: WalletRole;
}

@ObjectType("AccessListEntry", { description: "One user of the account and the wallet roles they hold." })
export class AccessListEntryObject {
  @Field(() => UserObject)
  user!: UserObject;

  @Field(() => Boolean, { description: "True for the account's Owner, who holds OWNER on every wallet." })
  isOwner!: boolean;

  @Field(() => [WalletGrantObject])
  grants!: WalletGrantObject[];
}

@ObjectType("Viewer", { description: "The caller: their user, account and role per wallet." })
export class ViewerObject {
  @Field(() => UserObject)
  user!: UserObject;

  @Field(() => AccountObject)
  account!: AccountObject;

  @Field(() => Boolean)
  isOwner!: boolean;

  @Field(() => [WalletGrantObject])
  grants!: WalletGrantObject[];
}

@InputType("GrantWalletAccessInput")
export class GrantWalletAccessInput {
  @Field(() => ID, { nullable: true, description: "An existing user of the account; give this or email." })
  userId?: string | null;

  @Field(() => String, {
    nullable: true,
    description: "A user by e-mail; added to the account when not yet in it. Give this or userId.",
  })
  email?: string | null;

  @Field(() => ID)
  walletId!: string;

  @Field(() => WalletRole, { nullable: true, defaultValue: WalletRole.READ_ONLY })
  role?: WalletRole | null;
}

@ObjectType("GrantWalletAccessPayload")
export class GrantWalletAccessPayload {
  @Field(() => AccessListEntryObject, { description: "The user's entry after the change." })
  entry!: AccessListEntryObject;

  @Field(() => WalletGrantObject)
  grant!: WalletGrantObject;

  @Field(() => InvitationObject, {
    nullable: true,
    description: "When the grant added the user: their invitation to set a password, shown once. Null for an existing user.",
  })
  invitation!: InvitationObject | null;
}

@InputType("ChangeWalletRoleInput")
export class ChangeWalletRoleInput {
  @Field(() => ID)
  userId!: string;

  @Field(() => ID)
  walletId!: string;

  @Field(() => WalletRole)
  role!: WalletRole;
}

@ObjectType("ChangeWalletRolePayload")
export class ChangeWalletRolePayload {
  @Field(() => AccessListEntryObject, { description: "The user's entry after the change." })
  entry!: AccessListEntryObject;

  @Field(() => WalletGrantObject)
  grant!: WalletGrantObject;
}

@InputType("RevokeWalletAccessInput")
export class RevokeWalletAccessInput {
  @Field(() => ID)
  userId!: string;

  @Field(() => ID)
  walletId!: string;
}

@ObjectType("RevokeWalletAccessPayload")
export class RevokeWalletAccessPayload {
  @Field(() => AccessListEntryObject, { description: "The user's entry after the change." })
  entry!: AccessListEntryObject;

  @Field(() => WalletObject, { description: "The wallet the user no longer has access to." })
  wallet!: WalletObject;
}
