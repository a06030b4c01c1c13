import type { Page } from "playwright-core";

/** Where a page could still hold a value: each place, and whether the value is there. */
export interface Whereabouts {
  sessionStorage: boolean;
  localStorage: boolean;
  cookies: boolean;
  /** The names of the origin's IndexedDB databases (the page makes none). */
  indexedDb: boolean;
  /** The document's markup and every field's value. */
  dom: boolean;
  /** Apollo Client's cache (`cache.extract()`), of the client the page's ApolloProvider holds. */
  apolloCache: boolean;
  /** Any string in the page's JavaScript heap, after a full garbage collection. */
  heap: boolean;
}

/** Nowhere: what `whereabouts` answers for a value the page no longer holds. */
export const NOWHERE: Whereabouts = {
  sessionStorage: false,
  localStorage: false,
  cookies: false,
  indexedDb: false,
  dom: false,
  apolloCache: false,
  heap: false,
};

/**
 * For each value, where the page still holds it: its storage, its DOM, its GraphQL client's cache, and its whole
 * JavaScript heap (a heap snapshot, taken after a full collection, holds every live string). The page is read,
 * and searched here: the values are never handed to it.
 */
export async function whereabouts(page: Page, values: readonly string[]): Promise<Record<string, Whereabouts>> {
  const places = await readPlaces(page);
  const heap = await heapSnapshot(page);
  return Object.fromEntries(
    values.map((value) => [
      value,
      {
        sessionStorage: places.sessionStorage.includes(value),
        localStorage: places.localStorage.includes(value),
        cookies: places.cookies.includes(value),
        indexedDb: places.indexedDb.includes(value),
        dom: places.dom.includes(value),
        apolloCache: places.apolloCache.includes(value),
        heap: heap.includes(value),
      },
    ]),
  );
}

/** The page's storage, markup, field values and client cache, as text. */
export async function readPlaces(page: Page): Promise<Record<Exclude<keyof Whereabouts, "heap">, string>> {
  return page.evaluate(async () => {
    const storageText = (storage: Storage) => JSON.stringify(Object.entries(storage));
    const fields = [...document.querySelectorAll("input, textarea")].map((field) => (field as HTMLInputElement).value).join("\n");

    // The ApolloProvider's client, found through React's fiber tree from the root element.
    const rootElement = document.getElementById("root") as unknown as Record<string, unknown>;
    const containerKey = Object.keys(rootElement).find((key) => key.startsWith("__reactContainer$"));
    type Client = { cache?: { extract(): unknown } };
    type Fiber = { child: Fiber | null; sibling: Fiber | null; memoizedProps?: { client?: Client } | null };
    let client: Client | undefined;
    for (const queue = containerKey ? [rootElement[containerKey] as Fiber] : []; queue.length > 0 && !client; ) {
      const fiber = queue.shift()!;
      if (fiber.memoizedProps?.client?.cache) client = fiber.memoizedProps.client;
      if (fiber.child) queue.push(fiber.child);
      if (fiber.sibling) queue.push(fiber.sibling);
    }
    if (!client?.cache) throw new Error("no ApolloProvider client found on the page");

    return {
      sessionStorage: storageText(sessionStorage),
      localStorage: storageText(localStorage),
      cookies: document.cookie,
      indexedDb: JSON.stringify(await indexedDB.databases()),
      dom: `${document.documentElement.outerHTML}\n${fields}`,
      apolloCache: JSON.stringify(client.cache.extract()),
    };
  });
}

/** The page's JavaScript heap as the DevTools protocol serialises it, after a full garbage collection. */
async function heapSnapshot(page: Page): Promise<string> {
  const session = await page.context().newCDPSession(page);
  const chunks: string[] = [];
  session.on("HeapProfiler.addHeapSnapshotChunk", ({ chunk }) => void chunks.push(chunk));
  try {
    await session.send("HeapProfiler.enable");
    await session.send("HeapProfiler.collectGarbage");
    await session.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    return chunks.join("");
  } finally {
    await session.detach();
  }
}
