import express, { type Router } from "express";
import type { Database } from "../db/orm.js";

/**
 * `GET /healthz`: the process serves. `GET /readyz`: and its database answers; 503 when it refuses, or gives no
 * answer within `READY_CHECK_TIMEOUT_MS` (the check never waits longer, so a hung database turns it red in time).
 */
export function healthRouter(db: Pick<Database, "ping">): Router {
  const router = express.Router();
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (_req, res) => {
    const ready = await db.ping();
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "database unavailable" });
  });
  return router;
}
