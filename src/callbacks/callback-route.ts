import { SpanKind, SpanStatusCode, trace, type Span, type Tracer } from "@opentelemetry/api";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import zlib from "node:zlib";
import type { Logger } from "../logger.js";
import { contextOf, type TraceScope } from "../tracing/tracing.js";
import { ingestCallback, type IngressDependencies } from "./callback-ingress.js";

/** Largest callback body accepted: the bytes read, and for a compressed body its bytes once inflated too. */
export const MAX_CALLBACK_BYTES = 256 * 1024;
/**
 * How many times its compressed bytes read so far a compressed body may inflate to (plus
 * {@link INFLATION_ALLOWANCE}). A genuine callback (hex signatures, ids, amounts) inflates a few times; a body
 * that inflates far more is padding meant to cost parsing time, and is refused while it is being read.
 */
export const MAX_INFLATION_RATIO = 100;
/** Inflated bytes a compressed body may always have, whatever its ratio: one decoder chunk, above any real callback. */
export const INFLATION_ALLOWANCE = 16 * 1024;
/** One answer for a bad signature and an unknown wallet, so wallet ids cannot be probed. */
export const UNAUTHORIZED_CALLBACK = "The callback signature is not valid";

const JSON_CONTENT_TYPE = /^application\/(?:json|vnd\.api\+json)\s*(?:;|$)/i;
const DECODERS: Record<string, (() => zlib.Gzip | zlib.Inflate | zlib.BrotliDecompress) | null> = {
  identity: null,
  gzip: () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

/**
 * Counts each answer: by outcome, as an HTTP request of the `/callbacks` route, and a refusal by its reason (the
 * ingress's `RefusalReason`, or the outcome for a body refused before it is read).
 */
export type CallbackAnswered = (status: number, outcome: string, reason?: string) => void;

/** Whether a request is for the callback ingress (`POST /callbacks`, a trailing slash and a query allowed). */
export function isCallbackRequest(req: Pick<IncomingMessage, "method" | "url">): boolean {
  if (req.method !== "POST" || !req.url) return false;
  const end = req.url.indexOf("?");
  const path = end === -1 ? req.url : req.url.slice(0, end);
  return path === "/callbacks" || path === "/callbacks/";
}

/** The span of one `POST /callbacks`, a child of the sender's `traceparent` when it sends one; its steps are children of it. */
function ingressTrace(tracer: Tracer, req: IncomingMessage): { span: Span; scope: TraceScope } {
  const parent = contextOf(req.headers);
  const span = tracer.startSpan("POST /callbacks", {
    kind: SpanKind.SERVER,
    attributes: { "http.request.method": "POST", "http.route": "/callbacks", "url.path": "/callbacks" },
  }, parent);
  return { span, scope: { tracer, context: trace.setSpan(parent, span) } };
}

/** Ends an ingress span with the answer: its status, outcome and refusal reason (a 5xx marks it failed). */
function endIngressSpan(span: Span, status: number, outcome: string, reason: string | undefined, message: string | undefined): void {
  span.setAttribute("http.response.status_code", status);
  span.setAttribute("callback.outcome", outcome);
  if (reason) span.setAttribute("callback.refusal_reason", reason);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.end();
}

/**
 * `POST /callbacks`: the platform's deposit and payout callbacks. 200 with an empty body once the event is
 * durably stored (or was stored before); 400 naming a malformed field; 401 for a bad signature or an unknown
 * wallet; 413 over 256 KiB; 415 for another content type or an unknown content encoding; 503 when the service
 * cannot store it now, so that the platform retries. Nothing is stored or published for a refused callback.
 *
 * It is served on the HTTP server directly, ahead of the rest of the application: this is the path the platform
 * loads, and it needs nothing of the web framework.
 */
export function callbackHandler(
  deps: IngressDependencies,
  answered: CallbackAnswered,
  logger: Logger,
): (req: IncomingMessage, res: ServerResponse) => void {
  const answer = (
    res: ServerResponse,
    span: Span | undefined,
    status: number,
    outcome: string,
    message?: string,
    headers: Record<string, string> = {},
    reason = status >= 400 && status < 500 ? outcome : undefined,
  ) => {
    answered(status, outcome, reason);
    if (span) endIngressSpan(span, status, outcome, reason, message);
    if (res.headersSent || res.destroyed) return;
    if (message === undefined) {
      res.writeHead(status, { ...headers, "content-length": "0" }).end();
      return;
    }
    const body = JSON.stringify({ errors: [{ status: String(status), detail: message }] });
    res
      .writeHead(status, { ...headers, "content-type": "application/json; charset=utf-8", "content-length": String(Buffer.byteLength(body)) })
      .end(body);
  };
  // The rest of a refused body is not read: the connection cannot be reused.
  const refuse = (res: ServerResponse, span: Span | undefined, status: number, outcome: string, message: string) =>
    answer(res, span, status, outcome, message, { connection: "close" });

  return (req, res) => {
    // Only a check while tracing is off.
    const traced = deps.tracer ? ingressTrace(deps.tracer, req) : undefined;
    const span = traced?.span;
    if (!JSON_CONTENT_TYPE.test(req.headers["content-type"] ?? "")) {
      refuse(res, span, 415, "unsupported_media_type", "Send application/json");
      return;
    }
    const encoding = (req.headers["content-encoding"] ?? "identity").trim().toLowerCase();
    if (!(encoding in DECODERS)) {
      refuse(res, span, 415, "unsupported_media_type", `Unsupported content encoding ${JSON.stringify(encoding)}`);
      return;
    }
    const readTooLarge = `The ${encoding === "identity" ? "" : "compressed "}body exceeds ${MAX_CALLBACK_BYTES} bytes`;
    if (Number(req.headers["content-length"]) > MAX_CALLBACK_BYTES) {
      refuse(res, span, 413, "too_large", readTooLarge);
      return;
    }

    const decoder = DECODERS[encoding]?.();
    const source: Readable = decoder ? req.pipe(decoder) : req;
    const chunks: Buffer[] = [];
    let size = 0;
    let compressed = 0;
    let done = false;
    const stop = () => {
      done = true;
      if (decoder) {
        req.unpipe(decoder);
        decoder.destroy();
      }
      req.pause();
    };
    // A compressed body is bounded by the bytes read as well: members that inflate to little or nothing would
    // otherwise be read without end. The decoder inflates asynchronously, so each inflated chunk arrives after
    // the compressed bytes it came from were counted here.
    if (decoder) {
      req.on("data", (chunk: Buffer) => {
        if (done) return;
        compressed += chunk.length;
        if (compressed > MAX_CALLBACK_BYTES) {
          stop();
          refuse(res, span, 413, "too_large", readTooLarge);
        }
      });
    }
    source.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > MAX_CALLBACK_BYTES) {
        stop();
        refuse(res, span, 413, "too_large", `The ${decoder ? "inflated " : ""}body exceeds ${MAX_CALLBACK_BYTES} bytes`);
        return;
      }
      if (decoder && size > MAX_INFLATION_RATIO * compressed + INFLATION_ALLOWANCE) {
        stop();
        refuse(res, span, 413, "too_large", `The inflated body exceeds ${MAX_INFLATION_RATIO} times its compressed size`);
        return;
      }
      chunks.push(chunk);
    });
    const unreadable = () => {
      if (done) return;
      stop();
      refuse(res, span, 400, "malformed", "The body could not be read");
    };
    req.on("error", unreadable);
    decoder?.on("error", unreadable);
    source.on("end", () => {
      if (done) return;
      done = true;
      const body = chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks, size).toString("utf8");
      ingestCallback(deps, body, traced?.scope).then(
        (result) => {
          if (result.outcome === "accepted" || result.outcome === "duplicate") answer(res, span, 200, result.outcome);
          else if (result.outcome === "malformed") {
            answer(res, span, 400, "malformed", `Missing or invalid ${result.field}`, {}, result.reason);
          } else answer(res, span, 401, "unauthorized", UNAUTHORIZED_CALLBACK, {}, result.reason);
        },
        (error: unknown) => {
          logger.error({ err: error }, "could not store a callback; answered 503 so that the sender retries");
          answer(res, span, 503, "unavailable", "The callback could not be stored now; retry later", { "retry-after": "5" });
        },
      );
    });
  };
}
