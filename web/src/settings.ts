/** Where the page reaches the router, as the server that serves it says (`ROUTER_URL`, read at its start). */
export interface Settings {
  /** The router's GraphQL endpoint over HTTP: queries and mutations. */
  routerUrl: string;
  /** The same endpoint over WebSocket: graphql-ws subscriptions. */
  routerWsUrl: string;
}

export async function loadSettings(): Promise<Settings> {
  const response = await fetch("/settings.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`/settings.json answered ${response.status}`);
  const settings = (await response.json()) as Partial<Settings>;
  if (typeof settings.routerUrl !== "string" || typeof settings.routerWsUrl !== "string") throw new Error("/settings.json names no router");
  return { routerUrl: settings.routerUrl, routerWsUrl: settings.routerWsUrl };
}
