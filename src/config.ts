import path from "node:path";

/** Logging levels accepted by `LOG_LEVEL`. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The service configuration, read once from the environment. Every option has a default that gives the
 * embedded set-up (SQLite under `./data`, a generated development signing key), except in production where the
 * keys must be given explicitly.
 */
export interface Config {
  /** `NODE_ENV=production` hides schema details and never seeds demo data. @default false */
  production: boolean;
  /** TCP port of the single HTTP server. @default 4000 */
  port: number;
  /** Interface to listen on. @default "0.0.0.0" */
  host: string;
  /** Where the embedded database and generated key files live. @default "./data" */
  dataDir: string;
  /** `postgres://...` selects PostgreSQL; unset selects the embedded SQLite file `<dataDir>/access.sqlite`. */
  databaseUrl: string | undefined;
  /**
   * Bounds on waiting for PostgreSQL, so that a database that stops answering never hangs a request (see
   * docs/running-several-instances.md).
   */
  database: {
    /**
     * How long a statement may go unanswered before it is given up and its connection destroyed; 0: no limit. It is
     * kept by this process, so it holds when the network or the server hangs, where the server's `statement_timeout`
     * cannot. Far above any statement the service runs while serving; a migration that rewrites a large table may
     * need more (`npm run migrate` reads it too). @default 10000
     */
    queryTimeoutMs: number;
    /**
     * How long a request waits for a pooled connection, and a new connection for the server's welcome, before the
     * request is answered "unavailable, retry". @default 5000
     */
    acquireTimeoutMs: number;
    /** How long `GET /readyz` waits for the database's answer before it answers 503. @default 2000 */
    readyCheckTimeoutMs: number;
  };
  /** pino level. @default "info" */
  logLevel: LogLevel;
  jwt: {
    /** Shared HS256 key (at least 32 bytes); signs, and verifies the tokens whose `kid` names it. */
    secret: string | undefined;
    /** Retired shared keys: they only verify the tokens whose `kid` names them (or that have none). */
    retiredSecrets: string[];
    /** JWKS URL of an identity provider; takes precedence over the shared key. */
    jwksUrl: string | undefined;
    /** Expected `iss` claim. @default "access-subgraph" */
    issuer: string;
    /** Expected `aud` claim. @default "access-subgraph" */
    audience: string;
    /**
     * Longest lifetime a user token may claim, `exp - (iat or now)`, in seconds; a token without `exp` is refused.
     * @default 43200 (12 h, the CLI's development tokens)
     */
    maxLifetimeSeconds: number;
  };
  /**
   * The current master key, base64 of 32 bytes, from which the keys of stored secrets and API tokens derive;
   * unset: a key file `<dataDir>/master.key` is generated (not in production).
   */
  masterKey: string | undefined;
  /** Retired master keys: they only decrypt and verify what is still under them, until `keys rotate` is done. */
  retiredMasterKeys: string[];
  /**
   * Apply pending migrations when the service starts (several instances started together take turns). Off: the
   * service refuses to start on a database with pending migrations; run `npm run migrate` first. @default true
   */
  migrateOnStart: boolean;
  /**
   * How long a stopping instance (SIGTERM) may take to end its subscriptions, answer the requests and callbacks it
   * has read and close; past it the process exits anyway, with 1. @default 15000
   */
  shutdownTimeoutMs: number;
  /**
   * Events received longer ago than this many days are pruned (their idempotency keys are kept longer, see
   * `events/retention.ts`); 0 keeps every event. @default 90
   */
  eventRetentionDays: number;
  /** Seed the demo account on first start. @default true on the embedded default outside production, else false */
  seedDemo: boolean;
  /** The demo Owner's password; generated and printed once when unset. */
  demoPassword: string | undefined;
  /** The demo Owner's TOTP secret (base32); generated and printed once when unset. */
  demoTotpSecret: string | undefined;
  /** Proxies (routers) whose `X-Forwarded-For` is believed, as addresses or CIDR ranges. @default none */
  trustedProxies: string[];
  /** Lifetime of the access tokens `/token` issues, in seconds. @default 300 */
  apiTokenLifetimeSeconds: number;
  confirmation: {
    /** Wait after the 5th failed confirmation, doubling with each further failure. @default 1000 */
    backoffMs: number;
    /** How long confirmations stay locked after 10 failures. @default 1800 */
    lockSeconds: number;
  };
  callbacks: {
    /** How the HMAC key comes from the callback secret (see `callbacks/callback-signature.ts`). @default "raw" */
    keyDerivation: "raw" | "sha256";
    /**
     * Callbacks signed longer ago than this (by `meta.time`) are refused as stale; 0 accepts any age. Long enough
     * for the platform's retries and a manual Resend of a callback that keeps its first signature (see
     * docs/decisions.md). @default 604800 (7 days)
     */
    maxAgeSeconds: number;
  };
  subscriptions: {
    /** A consumer that takes longer than this to accept one event is closed with 4008. @default 10000 */
    sendTimeoutMs: number;
    /** How often open sockets are checked against access changes and token expiry. @default 1000 */
    accessCheckMs: number;
    /** How often committed event heads are polled, in case a notification was lost. @default 1000 */
    pollMs: number;
    /**
     * Origins (`scheme://host:port`) of the routers that may receive subscriptions in HTTP callback mode. None: the
     * callback mode is off, so nothing a caller sends makes the service post anywhere. @default none
     */
    callbackOrigins: string[];
    /** The shortest heartbeat interval a router may ask for in callback mode. @default 5000 (the router's own) */
    callbackMinHeartbeatMs: number;
  };
  websocket: {
    /** Largest graphql-ws message accepted; a larger frame closes the socket with 1009 before it is read. @default 524288 */
    maxPayloadBytes: number;
    /** A socket must send `connection_init` this soon (else 4408); a refused one is closed 4401 this long after. @default 3000 */
    connectionInitTimeoutMs: number;
    /** Open sockets per client address. @default 32 */
    maxSocketsPerAddress: number;
    /** Open sockets from one trusted proxy (a router) when it names no other client. @default 10000 */
    maxSocketsPerProxy: number;
    /** Open sockets per user (a callback-mode subscription counts as one). @default 100 */
    maxSocketsPerUser: number;
    /** Operations running at once on one socket. @default 100 */
    maxOperationsPerSocket: number;
  };
  graphql: {
    /** Deepest selection accepted (introspection excluded). @default 12 */
    maxDepth: number;
    /** Most aliases accepted in one operation. @default 15 */
    maxAliases: number;
    /** Most lexical tokens in one document; parsing stops past it. @default 15000 (as Apollo Router's parser) */
    maxTokens: number;
    /** Most directives in one operation, fragments included (so on any one field too). @default 50 */
    maxDirectives: number;
  };
  /**
   * Bearer token `/metrics` requires (at least 32 characters). Unset: `/metrics` is open outside production and
   * not served in production. @default unset
   */
  metricsToken: string | undefined;
  /**
   * Bearer token the platform's back office presents to `/provisioning/v1` (at least 32 characters; never a user
   * token). Unset: the provisioning endpoints are not served (the operator CLI still works). @default unset
   */
  provisioningToken: string | undefined;
  /** How long an invitation to set a password stays valid, in seconds. @default 259200 (72 hours) */
  invitationTtlSeconds: number;
  /**
   * Requests (GraphQL operations) per minute that one account's users and API user share on each instance;
   * past it they are answered RATE_LIMITED with a retry hint. @default 1200
   */
  accountRequestBudget: number;
  /**
   * OpenTelemetry traces, read from the standard variables: off (no tracer, nothing recorded) unless
   * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set and `OTEL_SDK_DISABLED` is not true.
   */
  tracing: {
    /**
     * Where spans are sent, OTLP/HTTP with JSON bodies: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as it is, else
     * `OTEL_EXPORTER_OTLP_ENDPOINT` followed by `/v1/traces`. @default unset (tracing off)
     */
    tracesUrl: string | undefined;
    /** `service.name` of every span (`OTEL_SERVICE_NAME`). @default "access-subgraph" */
    serviceName: string;
    /** Longest wait before ended spans are sent (`OTEL_BSP_SCHEDULE_DELAY`, milliseconds). @default 5000 */
    exportDelayMs: number;
  };
}

/** A configuration value that cannot be used; the process refuses to start with this message. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (["1", "true", "yes"].includes(raw.toLowerCase())) return true;
  if (["0", "false", "no"].includes(raw.toLowerCase())) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/** A comma-separated list, blanks dropped. */
function list(env: Env, name: string): string[] {
  return (env[name] ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
}

/** Each entry as an origin (`scheme://host[:port]`, http or https, nothing else). */
function origins(env: Env, name: string): string[] {
  return list(env, name).map((entry) => {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new ConfigError(`${name}: "${entry}" is not a URL`);
    }
    if (!["http:", "https:"].includes(url.protocol) || url.username || url.password || url.search || url.hash || url.pathname !== "/") {
      throw new ConfigError(`${name}: "${entry}" must be an origin, http(s)://host[:port], with no path`);
    }
    return url.origin;
  });
}

function optional(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === "" ? undefined : raw;
}

/** An http(s) URL, or a ConfigError naming the variable. */
function httpUrl(name: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name}: "${value}" is not a URL`);
  }
  if (!["http:", "https:"].includes(url.protocol)) throw new ConfigError(`${name} must be an http(s) URL, got "${value}"`);
  return url;
}

/** The OTLP/HTTP traces URL the standard variables name, or undefined when tracing is off. */
function tracesUrl(env: Env): string | undefined {
  if (flag(env, "OTEL_SDK_DISABLED", false)) return undefined;
  const traces = optional(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  if (traces !== undefined) return httpUrl("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces).href;
  const base = optional(env, "OTEL_EXPORTER_OTLP_ENDPOINT");
  if (base === undefined) return undefined;
  const url = httpUrl("OTEL_EXPORTER_OTLP_ENDPOINT", base);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/v1/traces`;
  return url.href;
}

/** Reads and validates the configuration; throws {@link ConfigError} naming the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const production = env.NODE_ENV === "production";
  const databaseUrl = optional(env, "DATABASE_URL");
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError("DATABASE_URL must start with postgres:// (leave it unset for the embedded SQLite)");
  }
  const logLevel = (optional(env, "LOG_LEVEL") ?? "info") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got "${logLevel}"`);
  }
  const jwtSecret = optional(env, "JWT_SECRET");
  if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret) < 32) {
    throw new ConfigError("JWT_SECRET must be at least 32 bytes long");
  }
  const retiredJwtSecrets = list(env, "JWT_SECRETS_RETIRED");
  if (retiredJwtSecrets.some((secret) => Buffer.byteLength(secret) < 32)) {
    throw new ConfigError("JWT_SECRETS_RETIRED must list keys of at least 32 bytes each, separated by commas");
  }
  if (retiredJwtSecrets.length > 0 && jwtSecret === undefined) {
    throw new ConfigError("JWT_SECRETS_RETIRED needs JWT_SECRET, the key that signs");
  }
  const jwksUrl = optional(env, "JWT_JWKS_URL");
  if (production && jwtSecret === undefined && jwksUrl === undefined) {
    throw new ConfigError("In production set JWT_SECRET or JWT_JWKS_URL: the development signing key is not used");
  }
  const masterKey = optional(env, "MASTER_KEY");
  if (masterKey !== undefined && Buffer.from(masterKey, "base64").length !== 32) {
    throw new ConfigError("MASTER_KEY must be the base64 encoding of exactly 32 bytes");
  }
  const retiredMasterKeys = list(env, "MASTER_KEYS_RETIRED");
  if (retiredMasterKeys.some((key) => Buffer.from(key, "base64").length !== 32)) {
    throw new ConfigError("MASTER_KEYS_RETIRED must list base64 encodings of exactly 32 bytes, separated by commas");
  }
  if (production && masterKey === undefined) {
    throw new ConfigError("In production set MASTER_KEY: no key file is generated");
  }
  const seedDemo = flag(env, "SEED_DEMO", !production && databaseUrl === undefined);
  if (production && seedDemo) throw new ConfigError("SEED_DEMO cannot be used with NODE_ENV=production");

  const keyDerivation = optional(env, "CALLBACK_KEY_DERIVATION") ?? "raw";
  if (keyDerivation !== "raw" && keyDerivation !== "sha256") {
    throw new ConfigError(`CALLBACK_KEY_DERIVATION must be raw or sha256, got "${keyDerivation}"`);
  }
  const trustedProxies = list(env, "TRUSTED_PROXIES");
  const metricsToken = optional(env, "METRICS_TOKEN");
  if (metricsToken !== undefined && metricsToken.length < 32) {
    throw new ConfigError("METRICS_TOKEN must be at least 32 characters long");
  }

  const provisioningToken = optional(env, "PROVISIONING_TOKEN");
  if (provisioningToken !== undefined && provisioningToken.length < 32) {
    throw new ConfigError("PROVISIONING_TOKEN must be at least 32 characters long");
  }

  return {
    production,
    port: integer(env, "PORT", 4000, 0, 65535),
    host: optional(env, "HOST") ?? "0.0.0.0",
    dataDir: path.resolve(optional(env, "DATA_DIR") ?? "./data"),
    databaseUrl,
    database: {
      queryTimeoutMs: integer(env, "DB_QUERY_TIMEOUT_MS", 10_000, 0, 3_600_000),
      acquireTimeoutMs: integer(env, "DB_ACQUIRE_TIMEOUT_MS", 5000, 100, 600_000),
      readyCheckTimeoutMs: integer(env, "READY_CHECK_TIMEOUT_MS", 2000, 100, 5000),
    },
    logLevel,
    jwt: {
      secret: jwtSecret,
      retiredSecrets: retiredJwtSecrets,
      jwksUrl,
      issuer: optional(env, "JWT_ISSUER") ?? "access-subgraph",
      audience: optional(env, "JWT_AUDIENCE") ?? "access-subgraph",
      maxLifetimeSeconds: integer(env, "JWT_MAX_LIFETIME_SECONDS", 43_200, 60, 2_592_000),
    },
    masterKey,
    retiredMasterKeys,
    seedDemo,
    migrateOnStart: flag(env, "MIGRATE_ON_START", true),
    shutdownTimeoutMs: integer(env, "SHUTDOWN_TIMEOUT_MS", 15_000, 1000, 600_000),
    eventRetentionDays: integer(env, "EVENT_RETENTION_DAYS", 90, 0, 36_500),
    demoPassword: optional(env, "DEMO_PASSWORD"),
    demoTotpSecret: optional(env, "DEMO_TOTP_SECRET"),
    trustedProxies,
    callbacks: { keyDerivation, maxAgeSeconds: integer(env, "CALLBACK_MAX_AGE_SECONDS", 604_800, 0, 31_536_000) },
    subscriptions: {
      sendTimeoutMs: integer(env, "SUBSCRIPTION_SEND_TIMEOUT_MS", 10_000, 100, 600_000),
      accessCheckMs: integer(env, "SUBSCRIPTION_ACCESS_CHECK_MS", 1000, 100, 4000),
      pollMs: integer(env, "EVENT_POLL_MS", 1000, 50, 60_000),
      callbackOrigins: origins(env, "SUBSCRIPTION_CALLBACK_ORIGINS"),
      callbackMinHeartbeatMs: integer(env, "SUBSCRIPTION_CALLBACK_MIN_HEARTBEAT_MS", 5000, 100, 600_000),
    },
    websocket: {
      maxPayloadBytes: integer(env, "WS_MAX_PAYLOAD_BYTES", 512 * 1024, 1024, 16 * 1024 * 1024),
      connectionInitTimeoutMs: integer(env, "WS_CONNECTION_INIT_TIMEOUT_MS", 3000, 100, 60_000),
      maxSocketsPerAddress: integer(env, "WS_MAX_SOCKETS_PER_ADDRESS", 32, 1, 1_000_000),
      maxSocketsPerProxy: integer(env, "WS_MAX_SOCKETS_PER_PROXY", 10_000, 1, 1_000_000),
      maxSocketsPerUser: integer(env, "WS_MAX_SOCKETS_PER_USER", 100, 1, 1_000_000),
      maxOperationsPerSocket: integer(env, "WS_MAX_OPERATIONS_PER_SOCKET", 100, 1, 100_000),
    },
    apiTokenLifetimeSeconds: integer(env, "API_TOKEN_LIFETIME_SECONDS", 300, 10, 86_400),
    confirmation: {
      backoffMs: integer(env, "CONFIRMATION_BACKOFF_MS", 1000, 0, 3_600_000),
      lockSeconds: integer(env, "CONFIRMATION_LOCK_SECONDS", 1800, production ? 1800 : 1, 86_400),
    },
    graphql: {
      maxDepth: integer(env, "GRAPHQL_MAX_DEPTH", 12, 2, 100),
      maxAliases: integer(env, "GRAPHQL_MAX_ALIASES", 15, 0, 1000),
      maxTokens: integer(env, "GRAPHQL_MAX_TOKENS", 15_000, 500, 1_000_000),
      maxDirectives: integer(env, "GRAPHQL_MAX_DIRECTIVES", 50, 0, 10_000),
    },
    metricsToken,
    provisioningToken,
    invitationTtlSeconds: integer(env, "INVITATION_TTL_SECONDS", 259_200, 60, 2_592_000),
    accountRequestBudget: integer(env, "ACCOUNT_REQUEST_BUDGET", 1200, 1, 10_000_000),
    tracing: {
      tracesUrl: tracesUrl(env),
      serviceName: optional(env, "OTEL_SERVICE_NAME") ?? "access-subgraph",
      exportDelayMs: integer(env, "OTEL_BSP_SCHEDULE_DELAY", 5000, 0, 600_000),
    },
  };
}
