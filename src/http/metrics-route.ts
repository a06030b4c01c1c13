import express, { type Router } from "express";
import type { Config } from "../config.js";
import { metricsAccess, type Metrics } from "../metrics.js";

/** `GET /metrics`: the Prometheus text format, for whom `metricsAccess` lets in (401 otherwise, 404 when off). */
export function metricsRouter(metrics: Metrics, config: Pick<Config, "production" | "metricsToken">): Router {
  const allowed = metricsAccess(config);
  const router = express.Router();
  router.get("/metrics", async (req, res) => {
    const access = allowed(req.headers.authorization);
    if (access === "off") return void res.status(404).json({ errors: [{ message: "Not found" }] });
    if (access === "refused") {
      return void res.status(401).set("www-authenticate", "Bearer").json({ errors: [{ message: "/metrics needs its bearer token" }] });
    }
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return router;
}
