import express, { type ErrorRequestHandler, type Router } from "express";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";

/** The routes counted by name in `http_requests_total`; any other path counts as "other". */
const COUNTED_ROUTES = ["/graphql", "/healthz", "/readyz", "/metrics", "/token", "/callbacks"];
/** Route families counted under their prefix, their paths carrying ids. */
const COUNTED_PREFIXES = ["/provisioning/v1"];

function routeLabel(path: string): string {
  if (COUNTED_ROUTES.includes(path)) return path;
  return COUNTED_PREFIXES.find((prefix) => path === prefix || path.startsWith(`${prefix}/`)) ?? "other";
}

/**
 * The web application behind the HTTP server (everything but the callback ingress, which the server answers
 * itself): the given routers in order, every answer counted by route and status, a JSON 404 for anything else,
 * and errors answered without their details (a 500 is logged).
 */
export function webApp(routers: Router[], deps: { metrics: Pick<Metrics, "httpRequests">; logger: Pick<Logger, "error"> }) {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", false);
  app.use((req, res, next) => {
    res.on("finish", () => {
      // The path as asked: a router mounted under a prefix leaves `req.path` relative to it.
      const path = (req.originalUrl.split("?")[0] ?? "").replace(/\/$/, "");
      deps.metrics.httpRequests.inc({ route: routeLabel(path), status: String(res.statusCode) });
    });
    next();
  });
  for (const router of routers) app.use(router);
  app.use((_req, res) => {
    res.status(404).json({ errors: [{ message: "Not found", extensions: { code: "NOT_FOUND" } }] });
  });
  // A body that cannot be read (not JSON, too large) is the client's mistake, coded as Apollo Server codes its own.
  const errorHandler: ErrorRequestHandler = (error, _req, res, _next) => {
    const status = typeof error?.status === "number" && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) deps.logger.error({ err: error }, "unhandled error in an HTTP request");
    const message =
      status === 500 ? "Internal server error" : error.type === "entity.parse.failed" ? "Malformed JSON body" : error.message;
    const code = status === 500 ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST";
    res.status(status).json({ errors: [{ message, extensions: { code } }] });
  };
  app.use(errorHandler);
  return app;
}
