import type { EntityManager } from "@mikro-orm/core";
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response, type Router } from "express";
import { createHash, timingSafeEqual } from "node:crypto";
import { bearerToken } from "../auth/tokens.js";
import type { Clock } from "../clock.js";
import { badInput, DomainError } from "../domain-error.js";
import type { Logger } from "../logger.js";
import type { ClientAddressResolver } from "../network/client-address.js";
import { FailureRateLimiter } from "../network/rate-limiter.js";
import { isConflict } from "./provisioning-input.js";
import {
  createAccount,
  createWallet,
  inviteOwner,
  resumeAccount,
  setWalletBalance,
  suspendAccount,
  updateWallet,
  type ProvisioningDependencies,
  type ProvisioningMeta,
  type Provisioned,
} from "./provisioning.service.js";

/** Where the provisioning endpoints live. */
export const PROVISIONING_PATH = "/provisioning/v1";
/** Largest request body accepted, checked before the caller is authenticated. */
export const MAX_PROVISIONING_BODY_BYTES = 16 * 1024;
/** Failed authentications per client address and minute before every call from it is refused until the minute ends. */
export const PROVISIONING_AUTH_FAILURES_PER_MINUTE = 10;

export function provisioningFailureLimiter(clock: Clock): FailureRateLimiter {
  return new FailureRateLimiter("provisioning", PROVISIONING_AUTH_FAILURES_PER_MINUTE, 60_000, clock);
}

/** What the provisioning endpoints need. */
export interface ProvisioningRouteDependencies {
  /** `PROVISIONING_TOKEN`: the back office's bearer token. */
  token: string;
  em: () => EntityManager;
  addresses: Pick<ClientAddressResolver, "resolve">;
  limiter: FailureRateLimiter;
  provisioning: ProvisioningDependencies;
  logger: Pick<Logger, "error">;
}

type Operation = (em: EntityManager, deps: ProvisioningDependencies, request: never, meta: ProvisioningMeta) => Promise<Provisioned<unknown>>;

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

function send(res: Response, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.status(status).set({ "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers });
  res.send(JSON.stringify(body));
}

const TITLES: Record<number, string> = {
  400: "Bad request",
  401: "Unauthorized",
  404: "Not found",
  409: "Conflict",
  413: "Payload too large",
  415: "Unsupported media type",
  429: "Too many requests",
  503: "Service unavailable",
};

function error(res: Response, status: number, detail: string, extra: Record<string, unknown> = {}, headers?: Record<string, string>): void {
  send(res, status, { errors: [{ status: String(status), title: TITLES[status] ?? "Error", detail, ...extra }] }, headers);
}

/** The HTTP status of a refusal. */
function statusOf(failure: DomainError): number {
  if (failure.code === "NOT_FOUND") return 404;
  if (failure.code === "SERVICE_UNAVAILABLE") return 503;
  if (failure.code === "BAD_USER_INPUT") return isConflict(failure) ? 409 : 400;
  return 400;
}

/**
 * Where in the request a refused field was: the Idempotency-Key header, a path parameter or the body (a JSON
 * pointer into it; `bodyField` names the request field the whole body stands for, if any).
 */
function sourceOf(field: unknown, pathParameters: readonly string[], bodyField?: string): Record<string, string> | undefined {
  if (typeof field !== "string") return undefined;
  if (field === "requestKey") return { header: "Idempotency-Key" };
  if (pathParameters.includes(field)) return { parameter: field };
  let path = field.split(".");
  if (bodyField !== undefined) {
    if (path[0] !== bodyField) return undefined;
    path = path.slice(1);
  }
  return { pointer: path.map((part) => `/${part}`).join("") };
}

/** Whether the request carries a body (a length above 0, or a chunked one). */
function hasBody(req: Request): boolean {
  return req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
}

/**
 * `/provisioning/v1`: the platform's back office creates accounts (with their Owner) and wallets, changes wallets
 * and balances, and suspends accounts (docs/accounts-and-people.md). Only served with `PROVISIONING_TOKEN`.
 *
 * Before the caller is authenticated: an address with too many failed authentications this minute gets 429, a
 * body that is not JSON 415, one over 16 KiB 413. Then the bearer token must be `PROVISIONING_TOKEN` (compared
 * as SHA-256 digests in constant time; a user's token is never one), else 401. Every call is a write and needs an
 * `Idempotency-Key`. Answers: 201 created, 200 updated or replayed (`Idempotent-Replayed: true`), 400, 404, 409
 * for a key used with another request or a wallet id taken, 503 when the change could not be made now (retry
 * with the same key). Errors are JSON, without internals.
 */
export function provisioningRouter(deps: ProvisioningRouteDependencies): Router {
  const expected = digest(deps.token);
  const clientAddress = (req: Request) => deps.addresses.resolve(req.socket.remoteAddress, req.headers["x-forwarded-for"]);
  const unavailable = (res: Response, failure: unknown) => {
    deps.logger.error({ err: failure }, "a provisioning request failed");
    error(res, 503, "The request could not be carried out now; retry it with the same Idempotency-Key", {}, { "retry-after": "5" });
  };

  const gate: RequestHandler = async (req, res, next) => {
    const address = clientAddress(req);
    try {
      const retryAfter = await deps.limiter.retryAfterSeconds(deps.em(), address);
      if (retryAfter > 0) {
        error(res, 429, "Too many failed authentications from this address", {}, { "retry-after": String(retryAfter) });
        return;
      }
      if (hasBody(req) && !req.is("application/json")) {
        error(res, 415, "Send application/json", {}, { connection: "close" });
        return;
      }
      if (Number(req.headers["content-length"] ?? 0) > MAX_PROVISIONING_BODY_BYTES) {
        error(res, 413, `The body exceeds ${MAX_PROVISIONING_BODY_BYTES} bytes`, {}, { connection: "close" });
        return;
      }
      const token = bearerToken(req.headers.authorization);
      if (!token || !timingSafeEqual(digest(token), expected)) {
        await deps.limiter.recordFailure(deps.em(), address);
        error(res, 401, "Send the provisioning token as a bearer token", {}, { "www-authenticate": "Bearer", connection: "close" });
        return;
      }
    } catch (failure) {
      unavailable(res, failure);
      return;
    }
    res.locals.clientAddress = address;
    next();
  };

  /**
   * One endpoint: the request is the body's fields and the path's parameters (the body may not repeat them), or,
   * with `bodyField`, the path's parameters and that one field, whose value is the whole body.
   */
  const endpoint = (operation: Operation, created: boolean, bodyField?: string): RequestHandler => {
    return async (req, res) => {
      const pathParameters = Object.keys(req.params);
      try {
        const body: unknown = req.body ?? {};
        if (body === null || typeof body !== "object" || Array.isArray(body)) throw badInput("The body must be a JSON object");
        for (const name of bodyField === undefined ? pathParameters : []) {
          if (name in body) throw badInput(`${name} comes from the path; leave it out of the body`, name);
        }
        const request = bodyField === undefined ? { ...body, ...req.params } : { [bodyField]: body, ...req.params };
        const requestKey = req.get("idempotency-key");
        if (requestKey === undefined) throw badInput("Send an Idempotency-Key header: it makes the request safe to repeat", "requestKey");
        const meta: ProvisioningMeta = { requestKey, via: "api", clientAddress: res.locals.clientAddress as string };
        const { result, replayed } = await operation(deps.em(), deps.provisioning, request as never, meta);
        send(res, created && !replayed ? 201 : 200, { data: result }, replayed ? { "idempotent-replayed": "true" } : {});
      } catch (failure) {
        if (!(failure instanceof DomainError)) return unavailable(res, failure);
        const status = statusOf(failure);
        const source = sourceOf(failure.details.field, pathParameters, bodyField);
        error(res, status, failure.message, { code: failure.code, ...(source ? { source } : {}) }, status === 503 ? { "retry-after": "1" } : {});
      }
    };
  };

  const api = express.Router();
  api.use(gate);
  // Compressed bodies are refused (415): the size checked before authentication is then the size parsed.
  api.use(express.json({ limit: MAX_PROVISIONING_BODY_BYTES, type: "application/json", inflate: false }));
  api.post("/accounts", endpoint(createAccount, true));
  api.post("/accounts/:accountId/owner-invitations", endpoint(inviteOwner, true));
  api.post("/accounts/:accountId/suspension", endpoint(suspendAccount, false));
  api.delete("/accounts/:accountId/suspension", endpoint(resumeAccount, false));
  api.post("/wallets", endpoint(createWallet, true));
  api.patch("/wallets/:walletId", endpoint(updateWallet, false));
  api.put("/wallets/:walletId/balances", endpoint(setWalletBalance, false, "balances"));
  api.use((_req, res) => error(res, 404, "No such provisioning endpoint"));
  const malformed: ErrorRequestHandler = (failure, _req, res, _next) => {
    const status = (failure as { status?: number }).status;
    if (status === 413) return error(res, 413, `The body exceeds ${MAX_PROVISIONING_BODY_BYTES} bytes`, {}, { connection: "close" });
    if (status === 415) return error(res, 415, "Send the body uncompressed, as application/json");
    if (status === 400) return error(res, 400, "Malformed JSON body");
    unavailable(res, failure);
  };
  api.use(malformed);

  const router = express.Router();
  router.use(PROVISIONING_PATH, api);
  return router;
}
