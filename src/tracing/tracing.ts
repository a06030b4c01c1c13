import {
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapPropagator,
  type Tracer,
} from "@opentelemetry/api";
import { randomUUID } from "node:crypto";
import type { Config } from "../config.js";
import { settledWithin } from "../settled-within.js";

/** A service's tracing: the tracer of its spans, and the exporter behind it. */
export interface Tracing {
  tracer: Tracer;
  /**
   * Sends every span ended so far, then stops: later spans are dropped. Waits at most `timeoutMs`, so that a
   * collector that does not answer cannot hold up the service's shutdown (what is not sent by then is lost).
   */
  shutdown(timeoutMs: number): Promise<void>;
}

/**
 * Where a piece of work's spans go: the tracer, and the context whose span they are children of. Passed down
 * explicitly rather than through a global context manager, so that several services in one process (the tests)
 * keep their spans apart, and nothing tracks async context while tracing is off.
 */
export interface TraceScope {
  tracer: Tracer;
  context: Context;
}

/**
 * Starts the service's tracing when `tracesUrl` is set: a tracer provider of its own (never registered as the
 * global one), spans batched and sent as OTLP/HTTP JSON. Null when tracing is off: the code then checks for a
 * tracer and does nothing more. The tracing SDK and its exporter (some 2.5 MB of heap) are loaded only then.
 */
export async function startTracing(config: Config["tracing"]): Promise<Tracing | null> {
  if (!config.tracesUrl) return null;
  const [{ W3CTraceContextPropagator }, { OTLPTraceExporter }, { defaultResource, resourceFromAttributes }, { BasicTracerProvider, BatchSpanProcessor }] =
    await Promise.all([
      import("@opentelemetry/core"),
      import("@opentelemetry/exporter-trace-otlp-http"),
      import("@opentelemetry/resources"),
      import("@opentelemetry/sdk-trace-base"),
    ]);
  propagator ??= new W3CTraceContextPropagator();
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({ "service.name": config.serviceName, "service.instance.id": randomUUID() }),
    ),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracesUrl }), { scheduledDelayMillis: config.exportDelayMs }),
    ],
  });
  return {
    tracer: provider.getTracer("access-subgraph"),
    async shutdown(timeoutMs) {
      await settledWithin(provider.shutdown(), timeoutMs);
    },
  };
}

/** The W3C Trace Context propagator, loaded with the tracing SDK: only code holding a tracer reads a `traceparent`. */
let propagator: TextMapPropagator | null = null;

/** Reads `traceparent` and `tracestate` from Node's headers, a Fetch-style map or a plain record. */
const headerGetter: TextMapGetter<unknown> = {
  get(carrier, key) {
    const value = carrier instanceof Map ? carrier.get(key) : (carrier as Record<string, unknown>)[key];
    return typeof value === "string" || Array.isArray(value) ? value : undefined;
  },
  keys: (carrier) => (carrier instanceof Map ? [...carrier.keys()] : Object.keys(carrier as object)),
};

/**
 * The context a W3C `traceparent` (with its `tracestate`) continues, from request headers or any record holding
 * them; the root context when there is none or it is not valid, so that the span starts a trace of its own.
 */
export function contextOf(carrier: unknown): Context {
  if (carrier === null || typeof carrier !== "object" || !propagator) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, carrier, headerGetter);
}

/** The `traceparent` that names the span of `context`, to continue its trace elsewhere (another instance); null without one. */
export function traceparentOf(context: Context): string | null {
  const span = trace.getSpanContext(context);
  if (!span || !trace.isSpanContextValid(span)) return null;
  return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

/** Marks a span failed, with the error's message and its code (`error.type`) when it has one, else the exception recorded. */
export function failSpan(span: Span, error: unknown, code?: string): void {
  const message = error instanceof Error ? error.message : String(error);
  if (code) span.setAttribute("error.type", code);
  else if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/** Runs one step of a piece of work in a child span named `name`, ended once the step settled (failed if it threw). */
export async function inSpan<T>(scope: TraceScope, name: string, step: (span: Span) => T | Promise<T>): Promise<T> {
  const span = scope.tracer.startSpan(name, undefined, scope.context);
  try {
    return await step(span);
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}
