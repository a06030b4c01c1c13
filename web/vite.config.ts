import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { defineConfig, type Plugin } from "vite";

/**
 * The dashboard (web/): built into dist/web and served by `vite preview` on `WEB_PORT`, as `npm run web` does.
 * The router's URL is read when the server starts, not when the page is built: the page asks for it at
 * `/settings.json`, and the Content-Security-Policy lets the page connect there and nowhere else.
 */

/** A whole number from the environment, or its default. */
function port(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === "") return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65_535) throw new Error(`${name} is a port from 0 to 65535, not "${value}"`);
  return number;
}

/** The router's GraphQL endpoint as the browser reaches it: HTTP for queries and mutations, WebSocket for graphql-ws. */
function routerEndpoints(): { routerUrl: string; routerWsUrl: string } {
  const text = process.env.ROUTER_URL || `http://localhost:${port("ROUTER_PORT", 4100)}/graphql`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`ROUTER_URL is an http:// or https:// URL, not "${text}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`ROUTER_URL is an http:// or https:// URL, not "${text}"`);
  const ws = new URL(url);
  ws.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return { routerUrl: url.toString(), routerWsUrl: ws.toString() };
}

const endpoints = routerEndpoints();

/**
 * Headers of every answer of the preview server: the page may run only its own scripts and styles, connect only
 * to the router, show images only of its own and `data:` ones, and never be framed (a secret popup under someone
 * else's page); no address leaves it in a Referer.
 */
const securityHeaders = {
  "Content-Security-Policy": [
    "default-src 'self'",
    `connect-src 'self' ${new URL(endpoints.routerUrl).origin} ${new URL(endpoints.routerWsUrl).origin}`,
    "img-src 'self' data:",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; "),
  "Referrer-Policy": "no-referrer",
  "X-Content-Type-Options": "nosniff",
  "Cache-Control": "no-store",
};

/** Serves `/settings.json`, the router's endpoints, to the page. */
function dashboardSettings(): Plugin {
  const body = JSON.stringify(endpoints);
  const serve = (request: IncomingMessage, response: ServerResponse, next: () => void) => {
    if (request.url?.split("?")[0] !== "/settings.json") return next();
    response.setHeader("Content-Type", "application/json");
    response.end(body);
  };
  return {
    name: "dashboard-settings",
    configureServer(server) {
      server.middlewares.use(serve);
    },
    configurePreviewServer(server) {
      server.middlewares.use(serve);
      server.httpServer.once("listening", () => server.config.logger.info(`Dashboard talks to the router at ${endpoints.routerUrl}`));
    },
  };
}

const webPort = port("WEB_PORT", 5173);

export default defineConfig({
  root: import.meta.dirname,
  build: { outDir: path.resolve(import.meta.dirname, "../dist/web"), emptyOutDir: true },
  preview: { port: webPort, strictPort: true, host: "127.0.0.1", headers: securityHeaders },
  server: { port: webPort, strictPort: true, host: "127.0.0.1" },
  oxc: { jsx: { runtime: "automatic" } },
  plugins: [dashboardSettings()],
  clearScreen: false,
});
