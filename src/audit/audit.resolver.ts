import { Arg, Ctx, FieldResolver, Int, Query, Resolver, Root } from "type-graphql";
import { UserObject } from "../access/access.types.js";
import type { User } from "../access/user.entity.js";
import { requireViewer, type GraphQLContext } from "../graphql/context.js";
import { pageInfoOf } from "../graphql/page-info.js";
import { DEFAULT_PAGE_SIZE, MAX_CURSOR_LENGTH, MAX_PAGE_SIZE } from "../pagination.js";
import type { AuditEntry } from "./audit-entry.entity.js";
import { auditLog } from "./audit.service.js";
import { AuditLogConnection, AuditLogEntryObject } from "./audit.types.js";

@Resolver(() => AuditLogEntryObject)
export class AuditResolver {
  @Query(() => AuditLogConnection, { description: "Owner only: the account's security audit log, newest first." })
  async auditLog(
    @Ctx() context: GraphQLContext,
    @Arg("first", () => Int, { nullable: true, defaultValue: DEFAULT_PAGE_SIZE, description: `1 to ${MAX_PAGE_SIZE}.` })
    first: number,
    @Arg("after", () => String, { nullable: true, description: `At most ${MAX_CURSOR_LENGTH} characters.` })
    after: string | null,
  ) {
    const page = await auditLog(context.em, requireViewer(context), { first, after });
    return { edges: page.items, pageInfo: pageInfoOf(page) };
  }

  /** Through the request's user loader: one statement for a page, and only users the caller may see. */
  @FieldResolver(() => UserObject, { nullable: true })
  actor(@Root() entry: AuditEntry, @Ctx() context: GraphQLContext): Promise<User | null> | null {
    return entry.actorId ? context.loaders.users.load(entry.actorId) : null;
  }

  /** Through the request's user loader, as `actor`. */
  @FieldResolver(() => UserObject, { nullable: true })
  targetUser(@Root() entry: AuditEntry, @Ctx() context: GraphQLContext): Promise<User | null> | null {
    return entry.targetUserId ? context.loaders.users.load(entry.targetUserId) : null;
  }
}
