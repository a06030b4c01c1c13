import type { EntityManager } from "@mikro-orm/core";
import { createHash } from "node:crypto";
import express, { type ErrorRequestHandler, type Request, type Response, type Router } from "express";
import { AuditAction, AuditOutcome, recordAudit } from "../audit/audit.service.js";
import type { Clock } from "../clock.js";
import { ApiAccess } from "../credentials/api-access.entity.js";
import type { SecretHasher } from "../credentials/keys.js";
import type { Logger } from "../logger.js";
import type { ClientAddressResolver } from "../network/client-address.js";
import { isAllowed } from "../network/ip-whitelist.js";
import { FailureRateLimiter } from "../network/rate-limiter.js";
import type { ApiTokenService } from "./api-token.js";

/** The failure counters of `/token`: one per client address, one per API key (`client_id`). */
export interface TokenFailureLimiters {
  /** Failed or unauthenticated calls per client address. */
  address: FailureRateLimiter;
  /**
   * Failed calls per `client_id`, from whatever address: guesses at one key's secret spread over many addresses
   * are stopped as well.
   */
  key: FailureRateLimiter;
}

/** 15 failures a minute per client address, as on the platform, and as many per API key. */
export function tokenFailureLimiters(clock: Clock): TokenFailureLimiters {
  return {
    address: new FailureRateLimiter("token", 15, 60_000, clock),
    key: new FailureRateLimiter("token-key", 15, 60_000, clock),
  };
}

/** The per-key counter's key: a digest, so that any `client_id` fits the counter's column and none is stored. */
function keyOf(clientId: string): string {
  return createHash("sha256").update(clientId).digest("base64url");
}

/** What `/token` needs. */
export interface TokenRouteDependencies {
  em: () => EntityManager;
  addresses: Pick<ClientAddressResolver, "resolve">;
  /** Failed or unauthenticated calls per client address and per API key. */
  limiters: TokenFailureLimiters;
  secretHasher: SecretHasher;
  apiTokens: ApiTokenService;
  clock: Clock;
  logger: Pick<Logger, "error">;
}

/** The platform's wording for wrong credentials and an inactive API user alike. */
export const NO_ACTIVE_ACCOUNT = "No active account found with the given credentials";
const JSON_API = "application/vnd.api+json";
const MAX_BODY = "16kb";

function send(res: Response, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.status(status).set({ "content-type": JSON_API, "cache-control": "no-store", ...headers }).send(JSON.stringify(body));
}

function error(res: Response, status: number, title: string, detail: string, headers?: Record<string, string>): void {
  send(res, status, { errors: [{ status: String(status), title, detail }] }, headers);
}

/** The credentials of a JSON:API `auth-token` request, or the name of what is missing. */
function parseCredentials(body: unknown): { clientId: string; clientSecret: string } | { missing: string } {
  const data = (body as { data?: unknown } | null)?.data as
    | { type?: unknown; attributes?: { client_id?: unknown; client_secret?: unknown } }
    | undefined;
  if (!data || typeof data !== "object") return { missing: "data" };
  if (data.type !== "auth-token") return { missing: 'data.type ("auth-token")' };
  const attributes = data.attributes;
  if (!attributes || typeof attributes !== "object") return { missing: "data.attributes" };
  if (typeof attributes.client_id !== "string" || attributes.client_id === "" || attributes.client_id.length > 128) {
    return { missing: "data.attributes.client_id" };
  }
  if (
    typeof attributes.client_secret !== "string" ||
    attributes.client_secret === "" ||
    attributes.client_secret.length > 256
  ) {
    return { missing: "data.attributes.client_secret" };
  }
  return { clientId: attributes.client_id, clientSecret: attributes.client_secret };
}

/**
 * `POST /token`, in the platform's v3 shape: API key and secret in, a short-lived bearer token for the API user
 * out. Wrong credentials and an inactive API user look the same (400); an address off the whitelist gets 403;
 * the right credentials of a suspended account get 403 (after the whitelist). An address with 15 failed or
 * unauthenticated calls in the current minute, or a `client_id` with 15 failed calls from any addresses, gets 429
 * until the minute ends.
 */
export function tokenRouter(deps: TokenRouteDependencies): Router {
  const { em } = deps;
  const limiter = deps.limiters.address;
  const router = express.Router();
  const clientAddress = (req: Request) => deps.addresses.resolve(req.socket.remoteAddress, req.headers["x-forwarded-for"]);

  router.use(["/token", "/token/"], async (req, res, next) => {
    if (req.method !== "POST") {
      error(res, 405, "Method not allowed", "Use POST", { allow: "POST" });
      return;
    }
    try {
      const retryAfter = await limiter.retryAfterSeconds(em(), clientAddress(req));
      if (retryAfter > 0) {
        error(res, 429, "Too many requests", "Request was throttled", { "retry-after": String(retryAfter) });
        return;
      }
    } catch (failure) {
      next(failure);
      return;
    }
    if (!req.is([JSON_API, "application/json"])) {
      await limiter.recordFailure(em(), clientAddress(req)).catch(next);
      error(res, 415, "Unsupported media type", `Send ${JSON_API}`);
      return;
    }
    next();
  });

  router.post(
    ["/token", "/token/"],
    express.json({ limit: MAX_BODY, type: [JSON_API, "application/json"] }),
    async (req, res, next) => {
      const address = clientAddress(req);
      const session = em();
      try {
        const credentials = parseCredentials(req.body);
        if ("missing" in credentials) {
          await limiter.recordFailure(session, address);
          error(res, 400, "Incorrect request", `Missing or invalid ${credentials.missing}`);
          return;
        }
        const key = keyOf(credentials.clientId);
        const keyRetryAfter = await deps.limiters.key.retryAfterSeconds(session, key);
        if (keyRetryAfter > 0) {
          error(res, 429, "Too many requests", "Request was throttled", { "retry-after": String(keyRetryAfter) });
          return;
        }
        const failed = async () => {
          await limiter.recordFailure(session, address);
          await deps.limiters.key.recordFailure(session, key);
        };
        const access = await session.findOne(ApiAccess, { apiKey: credentials.clientId }, { populate: ["apiUser", "account"] });
        const secretOk = deps.secretHasher.verify(credentials.clientSecret, access?.secretHash ?? null);
        const audit = (outcome: AuditOutcome, detail?: string) =>
          access
            ? recordAudit(session, deps.logger, {
                accountId: access.account.id,
                actorId: access.apiUser?.id ?? null,
                action: AuditAction.ISSUE_API_TOKEN,
                outcome,
                clientAddress: address,
                detail,
              })
            : Promise.resolve();
        if (!access || !secretOk || !access.active || !access.apiUser) {
          await failed();
          await audit(AuditOutcome.INVALID_CREDENTIALS, !access?.active ? "API user inactive" : "wrong secret");
          error(res, 400, "Invalid credentials", NO_ACTIVE_ACCOUNT);
          return;
        }
        if (!isAllowed(access.ipWhitelist, address)) {
          await failed();
          await audit(AuditOutcome.IP_NOT_ALLOWED, `${address} is not whitelisted`);
          error(res, 403, "Forbidden", "Your IP address is not whitelisted for API access");
          return;
        }
        if (access.account.suspendedAt) {
          await failed();
          await audit(AuditOutcome.ACCOUNT_SUSPENDED);
          error(res, 403, "Account suspended", "The account is suspended");
          return;
        }
        const token = await deps.apiTokens.issue(access.apiUser.id, access.apiKey!);
        access.keyLastUsedAt = new Date(deps.clock.now());
        await session.flush();
        const rehashed = deps.secretHasher.isCurrent(access.secretHash!) ? null : deps.secretHasher.hash(credentials.clientSecret);
        if (rehashed !== null) {
          // The secret is at hand: a hash `keys rotate` cannot re-hash (no key id) is replaced, unless it changed since.
          await session.nativeUpdate(ApiAccess, { account: access.account.id, secretHash: access.secretHash }, { secretHash: rehashed });
        }
        await audit(AuditOutcome.SUCCESS);
        send(res, 200, {
          data: {
            type: "auth-token",
            attributes: { access: token, expires_in: deps.apiTokens.lifetimeSeconds, token_type: "Bearer" },
          },
        });
      } catch (failure) {
        next(failure);
      }
    },
  );

  const malformed: ErrorRequestHandler = (failure, req, res, next) => {
    const status = (failure as { status?: number }).status;
    if (status === 400 || status === 413) {
      limiter.recordFailure(em(), clientAddress(req)).then(
        () => error(res, status, status === 413 ? "Payload too large" : "Incorrect request", status === 413 ? `At most ${MAX_BODY}` : "Malformed JSON body"),
        next,
      );
      return;
    }
    next(failure);
  };
  router.use(["/token", "/token/"], malformed);
  return router;
}
