import { createSourceEventStream, execute, type DocumentNode, type ExecutionArgs, type ExecutionResult } from "graphql";

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
    const close = async () => {
      await source.return?.();
      return { value: undefined, done: true as const };
    };
    const mapped: AsyncIterableIterator<ExecutionResult> = {
      async next() {
        const step = await source.next();
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
