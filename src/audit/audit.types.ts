import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { UserObject } from "../access/access.types.js";
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

  @Field(() => UserObject, { nullable: true, description: "Null when no user could be tied to the call." })
  actor!: UserObject | null;

  @Field(() => AuditAction)
  action!: AuditAction;

  @Field(() => AuditOutcome)
  outcome!: AuditOutcome;

  @Field(() => String)
  clientAddress!: string;

  @Field(() => String, { nullable: true })
  detail!: string | null;
}

export const { Connection: AuditLogConnection } = connectionTypes("AuditLog", AuditLogEntryObject);
