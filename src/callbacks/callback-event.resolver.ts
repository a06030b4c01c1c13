import { Arg, Ctx, FieldResolver, Int, Query, Resolver, Root, Subscription } from "type-graphql";
import { authenticate } from "../auth/authenticate.js";
import { requireViewer, type GraphQLContext } from "../graphql/context.js";
import { pageInfoOf } from "../graphql/page-info.js";
import { DEFAULT_PAGE_SIZE, MAX_CURSOR_LENGTH, MAX_PAGE_SIZE } from "../pagination.js";
import { WalletObject } from "../wallets/wallet.types.js";
import type { StoredEvent } from "../events/event.js";
import { eventCursor, eventRetention, listCallbackEvents, positionOf, validateEventFilter } from "./callback-event.service.js";
import {
  CallbackEventConnection,
  CallbackEventFilterInput,
  CallbackEventObject,
  CallbackEventRetentionObject,
} from "./callback-event.types.js";
import { EventSubscription } from "./event-subscription.js";

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
    const page = await listCallbackEvents(context.services.events.log, context.em, requireViewer(context), { filter, first, after });
    return { edges: page.items, pageInfo: pageInfoOf(page) };
  }

  @Query(() => CallbackEventRetentionObject, { description: "How far back the history reaches (EVENT_RETENTION_DAYS)." })
  callbackEventRetention(@Ctx() context: GraphQLContext) {
    const { log, retentionDays } = context.services.events;
    return eventRetention(log, requireViewer(context), retentionDays);
  }

  @Subscription(() => CallbackEventObject, {
    name: "callbackEvents",
    description:
      "Every stored event after `after` (none when absent), then each new one as it arrives, in order, with no " +
      "gap and no duplicate. Resume with the cursor of the last event received. See docs/subscriptions.md.",
    subscribe: ({ args, context }) => {
      const ctx = context as GraphQLContext;
      const viewer = requireViewer(ctx);
      const { filter, after } = args as SubscriptionArgs;
      const { authentication, events } = ctx.services;
      const subscription = new EventSubscription({
        feed: events.feed,
        em: ctx.freshEm,
        viewer,
        reauthenticate: async (em) => {
          const auth = await authenticate(authentication, em, ctx.authorization, ctx.clientAddress);
          if (!auth.viewer) throw auth.error;
          return auth.viewer;
        },
        filter: validateEventFilter(filter),
        after: positionOf(after),
        sendTimeoutMs: events.sendTimeoutMs,
        onEnded: (error) => events.ended(error.code),
        trace: ctx.trace,
      });
      // The session (the socket, or the callback-mode subscription's own) ends it when its token expires or its
      // access ends; the transport then sends the error to the client as its last message.
      if (ctx.session) subscription.onEnd(ctx.session.add(subscription));
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
