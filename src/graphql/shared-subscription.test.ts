import { buildSchema, parse, type ExecutionResult, type GraphQLError, type GraphQLObjectType } from "graphql";
import { describe, expect, it } from "vitest";
import { DomainError } from "../domain-error.js";
import { sharedSubscribe } from "./shared-subscription.js";

/** A subscription whose events are pushed by the test, and a field that counts its executions. */
function fixture() {
  const schema = buildSchema(`
    type Query { ok: Boolean }
    type Event { n: Int, label(prefix: String): String }
    type Subscription { events: Event }
  `);
  const streams: { push(event: object): void; fail(error: Error): void; closed: boolean }[] = [];
  let executions = 0;
  const rootValue = {
    events: () => {
      const queue: object[] = [];
      let wake: (() => void) | null = null;
      let failure: Error | null = null;
      const stream = {
        closed: false,
        push(event: object) {
          queue.push(event);
          wake?.();
        },
        fail(error: Error) {
          failure = error;
          wake?.();
        },
      };
      streams.push(stream);
      return {
        async next() {
          while (queue.length === 0 && !failure) await new Promise<void>((resolve) => (wake = resolve));
          if (queue.length === 0) throw failure;
          return { value: queue.shift(), done: false };
        },
        async return() {
          stream.closed = true;
          return { value: undefined, done: true };
        },
        [Symbol.asyncIterator]() {
          return this;
        },
      };
    },
  };
  const label = (schema.getType("Event") as GraphQLObjectType).getFields().label!;
  label.resolve = (event: { n: number }, args: { prefix?: string }) => {
    executions += 1;
    return `${args.prefix ?? ""}${event.n}`;
  };
  return { schema, rootValue, streams, executions: () => executions };
}

describe("sharedSubscribe", () => {
  const document = parse("subscription($p: String) { events { n label(prefix: $p) } }");

  it("computes an event's result once for subscribers of one viewer, document and variables", async () => {
    const { schema, rootValue, streams, executions } = fixture();
    const subscribe = sharedSubscribe((context) => (context as { viewer: string }).viewer);
    const open = (viewer: string, p: string) =>
      subscribe({ schema, document, rootValue, contextValue: { viewer }, variableValues: { p } }) as Promise<AsyncIterableIterator<ExecutionResult>>;
    const [a, b, c, d] = await Promise.all([open("ann", "#"), open("ann", "#"), open("bob", "#"), open("ann", "n")]);
    // Every subscriber's stream yields the same event object, as subscribers at the head of the log do.
    const event = { events: { n: 1 } };
    for (const stream of streams) stream.push(event);
    const results = await Promise.all([a, b, c, d].map((iterator) => iterator!.next()));
    expect(results.map((result) => result.value.data)).toEqual([
      { events: { n: 1, label: "#1" } },
      { events: { n: 1, label: "#1" } },
      { events: { n: 1, label: "#1" } },
      { events: { n: 1, label: "n1" } },
    ]);
    // ann/# twice shares one execution; bob and ann/n have their own.
    expect(results[0]!.value).toBe(results[1]!.value);
    expect(results[2]!.value).not.toBe(results[0]!.value);
    expect(executions()).toBe(3);
  });

  it("never shares without a viewer, and closes the source when the subscriber leaves", async () => {
    const { schema, rootValue, streams, executions } = fixture();
    const subscribe = sharedSubscribe(() => null);
    const iterators = (await Promise.all(
      [1, 2].map(() => subscribe({ schema, document, rootValue, contextValue: {}, variableValues: { p: "" } })),
    )) as AsyncIterableIterator<ExecutionResult>[];
    const event = { events: { n: 7 } };
    for (const stream of streams) stream.push(event);
    await Promise.all(iterators.map((iterator) => iterator.next()));
    expect(executions()).toBe(2);
    await iterators[0]!.return!();
    expect(streams.map((stream) => stream.closed)).toEqual([true, false]);
  });

  it("turns the error a stream ends with into its last result, with the error's extensions, then is done", async () => {
    const { schema, rootValue, streams } = fixture();
    const subscribe = sharedSubscribe(() => null);
    const iterator = (await subscribe({ schema, document, rootValue, contextValue: {}, variableValues: { p: "" } })) as AsyncIterableIterator<ExecutionResult>;
    streams[0]!.push({ events: { n: 1 } });
    expect((await iterator.next()).value.data).toEqual({ events: { n: 1, label: "1" } });
    streams[0]!.fail(new DomainError("FORBIDDEN", "Access changed: subscribe again"));
    const last = await iterator.next();
    expect(last.done).toBe(false);
    expect(last.value.data).toBeNull();
    expect(last.value.errors!.map((error: GraphQLError) => error.toJSON())).toEqual([
      { message: "Access changed: subscribe again", extensions: { code: "FORBIDDEN" } },
    ]);
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });
});
