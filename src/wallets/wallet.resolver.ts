import { Arg, Ctx, ID, Int, Query, Resolver } from "type-graphql";
import { requireViewer, type GraphQLContext } from "../graphql/context.js";
import { pageInfoOf } from "../graphql/page-info.js";
import { DEFAULT_PAGE_SIZE, MAX_CURSOR_LENGTH, MAX_PAGE_SIZE } from "../pagination.js";
import type { Wallet } from "./wallet.entity.js";
import { findVisibleWallet, listWallets } from "./wallet.service.js";
import { WalletConnection, WalletFilterInput, WalletObject } from "./wallet.types.js";

@Resolver(() => WalletObject)
export class WalletResolver {
  @Query(() => WalletConnection, {
    description: "The wallets the viewer may see (the Owner: every wallet of the account), ordered by id.",
  })
  async wallets(
    @Ctx() context: GraphQLContext,
    @Arg("first", () => Int, {
      nullable: true,
      defaultValue: DEFAULT_PAGE_SIZE,
      description: `Page size, 1 to ${MAX_PAGE_SIZE}.`,
    })
    first: number,
    @Arg("after", () => String, {
      nullable: true,
      description: `Cursor of the last edge already seen (at most ${MAX_CURSOR_LENGTH} characters).`,
    })
    after: string | null,
    @Arg("filter", () => WalletFilterInput, { nullable: true }) filter: WalletFilterInput | null,
  ) {
    const page = await listWallets(context.em, requireViewer(context), { first, after, filter });
    return { edges: page.items, pageInfo: pageInfoOf(page) };
  }

  @Query(() => WalletObject, {
    nullable: true,
    description: "One wallet by its platform id; null when it does not exist or the viewer may not see it.",
  })
  wallet(@Ctx() context: GraphQLContext, @Arg("id", () => ID) id: string): Promise<Wallet | null> {
    return findVisibleWallet(context.em, requireViewer(context), id);
  }
}
