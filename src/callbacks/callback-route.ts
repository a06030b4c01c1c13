import express, { type ErrorRequestHandler, type Router } from "express";
import type { Counter } from "prom-client";
import type { Logger } from "../logger.js";
import { ingestCallback, type IngressDependencies } from "./callback-ingress.js";

/** Largest callback body accepted. */
export const MAX_CALLBACK_BYTES = 256 * 1024;
/** One answer for a bad signature and an unknown wallet, so wallet ids cannot be probed. */
export const UNAUTHORIZED_CALLBACK = "The callback signature is not valid";

/**
 * `POST /callbacks`: the platform's deposit and payout callbacks. 200 with an empty body once the event is
 * durably stored (or was stored before); 400 naming a malformed field; 401 for a bad signature or an unknown
 * wallet; 413 over 256 KiB; 415 for another content type; 503 when the service cannot store it now, so that the
 * platform retries. Nothing is stored or published for a refused callback.
 */
export function callbackRouter(deps: IngressDependencies, counter: Counter<"outcome">, logger: Logger): Router {
  const router = express.Router();
  const answer = (res: express.Response, status: number, outcome: string, message?: string) => {
    counter.inc({ outcome });
    if (message === undefined) res.status(status).end();
    else res.status(status).json({ errors: [{ status: String(status), detail: message }] });
  };

  router.post(
    "/callbacks",
    (req, res, next) => {
      if (!req.is(["application/json", "application/vnd.api+json"])) {
        answer(res, 415, "unsupported_media_type", "Send application/json");
        return;
      }
      next();
    },
    express.raw({ type: () => true, limit: MAX_CALLBACK_BYTES }),
    async (req, res) => {
      const body = Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "";
      try {
        const result = await ingestCallback(deps, body);
        if (result.outcome === "accepted" || result.outcome === "duplicate") answer(res, 200, result.outcome);
        else if (result.outcome === "malformed") answer(res, 400, "malformed", `Missing or invalid ${result.field}`);
        else answer(res, 401, "unauthorized", UNAUTHORIZED_CALLBACK);
      } catch (error) {
        logger.error({ err: error }, "could not store a callback; answered 503 so that the sender retries");
        res.set("retry-after", "5");
        answer(res, 503, "unavailable", "The callback could not be stored now; retry later");
      }
    },
  );

  const bodyErrors: ErrorRequestHandler = (error, _req, res, next) => {
    const status = (error as { status?: number }).status;
    if (status === 413) answer(res, 413, "too_large", `The body exceeds ${MAX_CALLBACK_BYTES} bytes`);
    else if (status !== undefined && status >= 400 && status < 500) answer(res, 400, "malformed", "The body could not be read");
    else next(error);
  };
  router.use("/callbacks", bodyErrors);
  return router;
}
