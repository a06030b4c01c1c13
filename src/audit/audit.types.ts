import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { UserObject } from "../access/access.types.js";
import { WalletRole } from "../access/roles.js";
import { connectionTypes } from "../graphql/connection.js";
import { AuditAction, AuditOutcome } from "./audit.service.js";

registerEnumType(AuditAction, { name: "AuditAction", description: "A security-relevant operation." });
registerEnumType(AuditOutcome, { name: "AuditOutcome", description: "How an audited operation ended." });

@ObjectType("AuditLogEntry", { description: "Who did what, when, from which address, and how it ended." })
export class AuditLogEntryObject {
  @Field(() => ID)
  id!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => UserObject, {
    nullable: true,
    description: "Null when no user could be tied to the call, or when that user has been deleted since (see actorEmail).",
  })
  actor!: UserObject | null;

  @Field(() => String, {
    nullable: true,
    description: "The actor's e-mail when the entry was written, kept after the user changes it or is deleted.",
  })
  actorEmail!: string | null;

  @Field(() => AuditAction)
  action!: AuditAction;

  @Field(() => AuditOutcome)
  outcome!: AuditOutcome;

  @Field(() => String)
  clientAddress!: string;

  @Field(() => String, { nullable: true })
  detail!: string | null;

  @Field(() => UserObject, {
    nullable: true,
    description:
      "Wallet access changes: the user whose access it was, once found in the account (null when it was not: see detail).",
  })
  targetUser!: UserObject | null;

  @Field(() => String, { nullable: true, description: "The target user's e-mail when the entry was written." })
  targetUserEmail!: string | null;

  @Field(() => ID, {
    nullable: true,
    description:
      "Wallet access changes: the wallet, once found in the account (null when it was not: see detail). Kept as an id so that the entry still names a wallet that no longer exists.",
  })
  walletId!: string | null;

  @Field(() => WalletRole, {
    nullable: true,
    description: "Role changes and revocations: the role the user held, once the grant was found.",
  })
  previousRole!: WalletRole | null;

  @Field(() => WalletRole, { nullable: true, description: "Grants and role changes: the role asked for." })
  role!: WalletRole | null;
}

export const { Connection: AuditLogConnection } = connectionTypes("AuditLog", AuditLogEntryObject);
