import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { UserObject } from "../access/access.types.js";
import { PageInfoObject } from "../graphql/page-info.js";
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

@ObjectType("AuditLogEdge")
export class AuditLogEdge {
  @Field(() => AuditLogEntryObject)
  node!: AuditLogEntryObject;

  @Field(() => String)
  cursor!: string;
}

@ObjectType("AuditLogConnection")
export class AuditLogConnection {
  @Field(() => [AuditLogEdge])
  edges!: AuditLogEdge[];

  @Field(() => PageInfoObject)
  pageInfo!: PageInfoObject;
}
