import { Directive, Field, ObjectType } from "type-graphql";

/** Relay page information; shareable so other subgraphs may define the same type. */
@ObjectType("PageInfo")
@Directive("@shareable")
export class PageInfoObject {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => Boolean)
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true })
  startCursor!: string | null;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

/** The page info of a page built by `toPage`. */
export function pageInfoOf(page: {
  items: { cursor: string }[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}): PageInfoObject {
  return {
    hasNextPage: page.hasNextPage,
    hasPreviousPage: page.hasPreviousPage,
    startCursor: page.items[0]?.cursor ?? null,
    endCursor: page.items.at(-1)?.cursor ?? null,
  };
}
