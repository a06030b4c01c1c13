import {
  createSourceEventStream,
  execute,
  GraphQLError,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from "graphql";

type Result = ExecutionResult | Promise<ExecutionResult>;

const documentIds = new WeakMap<DocumentNode, number>();
let lastDocumentId = 0;

function documentId(document: DocumentNode): number {
  let id = documentIds.get(document);
  if (id === undefined) documentIds.set(document, (id = ++lastDocumentId));
  return id;
}

/**
 * Like graphql's `subscribe`, but an event's result is computed once for all the subscribers that would compute
 * the same one: the same document (parsed once per query text, see `DocumentCache`), variables and operation, for
 * the same viewer (`viewerOf`; null: never shared). A thousand dashboards of one merchant on one query then cost
 * one execution per event instead of a thousand. Results are kept with the event object, as long as it lives.
 *
 * An error the event stream ends with (the subscription was ended: access, token, slow consumer, shutdown) becomes
 * the subscription's last result, `{ data: null, errors: [error] }`, and then it is done: a client and a router see the coded
 * error as they see any result's errors.
 */
export function sharedSubscribe(viewerOf: (context: unknown) => string | null) {
  const results = new WeakMap<object, Map<string, Result>>();

  return async (args: ExecutionArgs) => {
    const stream = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in stream)) return stream;
    const viewer = viewerOf(args.contextValue);
    const key =
      viewer === null
        ? null
        : [viewer, documentId(args.document), args.operationName ?? "", JSON.stringify(args.variableValues ?? {})].join("\u0000");

    const resultOf = (event: unknown): Result => {
      if (key === null || typeof event !== "object" || event === null) return execute({ ...args, rootValue: event });
      let byKey = results.get(event);
      if (!byKey) results.set(event, (byKey = new Map()));
      let result = byKey.get(key);
      if (!result) byKey.set(key, (result = execute({ ...args, rootValue: event })));
      return result;
    };

    const source = stream[Symbol.asyncIterator]();
    let ended = false;
    const close = async () => {
      ended = true;
      await source.return?.();
      return { value: undefined, done: true as const };
    };
    const mapped: AsyncIterableIterator<ExecutionResult> = {
      async next() {
        if (ended) return { value: undefined, done: true };
        let step: IteratorResult<unknown>;
        try {
          step = await source.next();
        } catch (error) {
          ended = true;
          const located = error instanceof GraphQLError ? error : new GraphQLError((error as Error).message, { originalError: error as Error });
          return { value: { data: null, errors: [located] }, done: false };
        }
        if (step.done) return { value: undefined, done: true };
        try {
          return { value: await resultOf(step.value), done: false };
        } catch (error) {
          await close();
          throw error;
        }
      },
      return: close,
      async throw(error: unknown) {
        await close();
        throw error;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return mapped;
  };
}
