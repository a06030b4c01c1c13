import { GraphQLError } from "graphql";
import { Arg, Ctx, FieldResolver, Int, Query, Resolver, Root, Subscription } from "type-graphql";
import { requireViewer, type GraphQLContext } from "../graphql/context.js";
import { CLOSE_TOKEN_EXPIRED } from "../graphql/socket-guard.js";
import { pageInfoOf } from "../graphql/page-info.js";
import { DEFAULT_PAGE_SIZE, MAX_CURSOR_LENGTH, MAX_PAGE_SIZE } from "../pagination.js";
import { WalletObject } from "../wallets/wallet.types.js";
import type { StoredEvent } from "./event-store.js";
import { eventCursor, listCallbackEvents, sequenceOf, validateEventFilter } from "./callback-event.service.js";
import { CallbackEventConnection, CallbackEventFilterInput, CallbackEventObject } from "./callback-event.types.js";
import { EventSubscription } from "./event-subscription.js";

/** The error that ends a subscription over HTTP whose access ended: as the socket close codes say (4401, 4403). */
function accessEnded(code: number, reason: string): GraphQLError {
  return new GraphQLError(reason, { extensions: { code: code === CLOSE_TOKEN_EXPIRED ? "UNAUTHENTICATED" : "FORBIDDEN" } });
}

/** Close code for a consumer too slow to take its events; it resumes from its last cursor. */
export const SLOW_CONSUMER_CLOSE_CODE = 4008;

interface SubscriptionArgs {
  filter?: CallbackEventFilterInput | null;
  after?: string | null;
}

@Resolver(() => CallbackEventObject)
export class CallbackEventResolver {
  @Query(() => CallbackEventConnection, {
    description: "Callback events of the wallets the viewer may see, oldest first, from a cursor.",
  })
  async callbackEvents(
    @Ctx() context: GraphQLContext,
    @Arg("filter", () => CallbackEventFilterInput, { nullable: true }) filter: CallbackEventFilterInput | null,
    @Arg("first", () => Int, { nullable: true, defaultValue: DEFAULT_PAGE_SIZE, description: `1 to ${MAX_PAGE_SIZE}.` })
    first: number,
    @Arg("after", () => String, { nullable: true, description: `At most ${MAX_CURSOR_LENGTH} characters.` })
    after: string | null,
  ) {
    const page = await listCallbackEvents(context.em, requireViewer(context), { filter, first, after });
    return { edges: page.items, pageInfo: pageInfoOf(page) };
  }

  @Subscription(() => CallbackEventObject, {
    name: "callbackEvents",
    description:
      "Every stored event after `after` (none when absent), then each new one as it arrives, in order, with no " +
      "gap and no duplicate. Resume with the cursor of the last event received. See docs/subscriptions.md.",
    subscribe: async ({ args, context }) => {
      const ctx = context as GraphQLContext;
      const viewer = requireViewer(ctx);
      const { filter, after } = args as SubscriptionArgs;
      const subscription = new EventSubscription({
        feed: ctx.runtime.feed,
        em: ctx.freshEm,
        viewer,
        filter: validateEventFilter(filter),
        after: sequenceOf(after),
        sendTimeoutMs: ctx.runtime.config.subscriptions.sendTimeoutMs,
        onSlowConsumer: () => {
          ctx.runtime.metrics.socketsClosed.inc({ reason: "slow_consumer" });
          ctx.connection?.close(SLOW_CONSUMER_CLOSE_CODE, "Slow consumer: resume from the last cursor received");
        },
      });
      // Over HTTP (the router's callback mode) no socket is guarded: the subscription itself is, and ends with an
      // error (which the router passes on) when its token expires or its access is revoked or changed.
      if (ctx.guardSubscription) {
        const untrack = await ctx.guardSubscription((code, reason) => subscription.fail(accessEnded(code, reason)));
        subscription.onEnd(untrack);
      }
      return subscription;
    },
  })
  callbackEventsLive(
    @Root() event: StoredEvent,
    @Ctx() context: GraphQLContext,
    @Arg("filter", () => CallbackEventFilterInput, { nullable: true }) _filter: CallbackEventFilterInput | null,
    @Arg("after", () => String, { nullable: true, description: `At most ${MAX_CURSOR_LENGTH} characters.` })
    _after: string | null,
  ): StoredEvent {
    // A subscription lives long: read the event's wallet afresh rather than from a cache as old as the socket.
    context.renewLoaders();
    return event;
  }

  @FieldResolver(() => String)
  cursor(@Root() event: StoredEvent): string {
    return eventCursor(event);
  }

  @FieldResolver(() => WalletObject)
  wallet(@Root() event: StoredEvent, @Ctx() context: GraphQLContext) {
    return context.loaders.wallets.load(event.wallet.id);
  }
}
