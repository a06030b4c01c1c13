import pino, { type DestinationStream, type Logger } from "pino";
import type { LogLevel } from "./config.js";

export type { Logger };

/** Keys whose values never reach a log line, at any depth. */
const SENSITIVE_KEY = /pass(word)?|secret|token|authori[sz]ation|cookie|otp|recovery|api[-_]?key|signature|sign$/i;
const MAX_DEPTH = 8;

/** Copies a log object with every sensitive-looking key replaced by "[redacted]". */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_DEPTH) return "[truncated]";
  if (value instanceof Error) {
    return { type: value.name, message: value.message, stack: value.stack };
  }
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = SENSITIVE_KEY.test(key) ? "[redacted]" : redactDeep(inner, depth + 1);
  }
  return out;
}

/** JSON logs on stdout (or the given stream), redacted as above. */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "access-subgraph" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { log: (object) => redactDeep(object) as Record<string, unknown> },
    },
    destination,
  );
}
