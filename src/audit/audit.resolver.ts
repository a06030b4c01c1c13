import { Arg, Ctx, Int, Query, Resolver } from "type-graphql";
import { requireViewer, type GraphQLContext } from "../graphql/context.js";
import { pageInfoOf } from "../graphql/page-info.js";
import { DEFAULT_PAGE_SIZE, MAX_CURSOR_LENGTH, MAX_PAGE_SIZE } from "../pagination.js";
import { auditLog } from "./audit.service.js";
import { AuditLogConnection } from "./audit.types.js";

@Resolver()
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
}
