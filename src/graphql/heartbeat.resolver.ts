import { setTimeout as sleep } from "node:timers/promises";
import { Arg, Ctx, Int, Resolver, Root, Subscription } from "type-graphql";
import { requireViewer, type GraphQLContext } from "./context.js";

/** Placeholder live feed until callback events exist: the server time, pushed at a fixed interval. */
@Resolver()
export class HeartbeatResolver {
  @Subscription(() => Date, {
    description: "The server time, first at once and then every intervalSeconds (1 to 60, default 10).",
    subscribe: ({ args, context }) => {
      requireViewer(context as GraphQLContext);
      const seconds = Math.min(60, Math.max(1, Number(args.intervalSeconds) || 10));
      return (async function* beat() {
        for (;;) {
          yield new Date();
          await sleep(seconds * 1000, undefined, { ref: false });
        }
      })();
    },
  })
  heartbeat(
    @Root() time: Date,
    @Ctx() _context: GraphQLContext,
    @Arg("intervalSeconds", () => Int, { nullable: true, defaultValue: 10 }) _intervalSeconds: number,
  ): Date {
    return time;
  }
}
