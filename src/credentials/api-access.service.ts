import type { EntityManager } from "@mikro-orm/core";
import { Account } from "../access/account.entity.js";
import { bumpAccessVersion } from "../access/access-version.js";
import { UserKind } from "../access/roles.js";
import { User } from "../access/user.entity.js";
import type { Viewer } from "../access/viewer.js";
import { AuditAction } from "../audit/audit.service.js";
import type { Confirmation } from "../confirmation/step-up.js";
import { badInput, forbidden } from "../domain-error.js";
import { normaliseWhitelist } from "../network/ip-whitelist.js";
import { ApiAccess } from "./api-access.entity.js";
import { generateApiKey, generateApiSecret } from "./generate.js";
import type { SecretHasher } from "./keys.js";
import { securedOperation, type SecuredContext } from "./secured-operation.js";

/** E-mail given to the API user that the first activation creates. */
export const API_USER_EMAIL = "api-user@api.invalid";

/** What the Owner sees of API access: state and metadata, never the secret. */
export interface ApiAccessStatus {
  apiUserActive: boolean;
  apiUser: User | null;
  ipWhitelist: string[];
  credentials: { apiKey: string; createdAt: Date; lastUsedAt: Date | null } | null;
}

function statusOf(access: ApiAccess | null): ApiAccessStatus {
  if (!access) return { apiUserActive: false, apiUser: null, ipWhitelist: [], credentials: null };
  return {
    apiUserActive: access.active,
    apiUser: access.apiUser,
    ipWhitelist: access.ipWhitelist,
    credentials:
      access.apiKey && access.keyCreatedAt
        ? { apiKey: access.apiKey, createdAt: access.keyCreatedAt, lastUsedAt: access.keyLastUsedAt }
        : null,
  };
}

async function loadAccess(em: EntityManager, accountId: string): Promise<ApiAccess | null> {
  return em.findOne(ApiAccess, { account: accountId }, { populate: ["apiUser"] });
}

/** Owner only. */
export async function apiAccessStatus(em: EntityManager, viewer: Viewer): Promise<ApiAccessStatus> {
  if (!viewer.isOwner) throw forbidden("Only the account Owner can see API access");
  return statusOf(await loadAccess(em, viewer.accountId));
}

async function accessForChange(em: EntityManager, accountId: string): Promise<ApiAccess> {
  return (await loadAccess(em, accountId)) ?? em.create(ApiAccess, { account: em.getReference(Account, accountId) });
}

/**
 * Turns the API user on or off. The first activation creates the API user, which holds ADMIN on every wallet
 * of the account, wallets added later included. Turning it off stops every token of it at once: each request
 * checks the state.
 */
export function setApiUserActive(
  context: SecuredContext,
  input: { active: boolean; confirmation: Confirmation },
): Promise<ApiAccessStatus> {
  return securedOperation(
    context,
    AuditAction.SET_API_USER_ACTIVE,
    input.confirmation,
    () => {
      if (typeof input.active !== "boolean") throw badInput("active must be true or false", "active");
    },
    async (_prepared, commit) => {
      const detail = input.active ? "API user activated" : "API user deactivated";
      const access = await commit(async (tx) => {
        const current = await accessForChange(tx, context.viewer.accountId);
        if (input.active && !current.apiUser) {
          current.apiUser =
            (await tx.findOne(User, { account: context.viewer.accountId, kind: UserKind.API })) ??
            tx.create(User, { account: context.viewer.accountId, email: API_USER_EMAIL, kind: UserKind.API });
        }
        current.active = input.active;
        current.updatedAt = new Date(context.stepUp.clock.now());
        await tx.flush();
        await bumpAccessVersion(tx, context.viewer.accountId);
        return current;
      }, detail);
      return { result: statusOf(access), detail };
    },
  );
}

/** Replaces the API IP whitelist (an empty list lifts the restriction). */
export function setApiIpWhitelist(
  context: SecuredContext,
  input: { entries: string[]; confirmation: Confirmation },
): Promise<ApiAccessStatus> {
  return securedOperation(
    context,
    AuditAction.SET_API_IP_WHITELIST,
    input.confirmation,
    () => normaliseWhitelist(Array.isArray(input.entries) ? input.entries : []),
    async (entries, commit) => {
      const detail = `${entries.length} entries: ${entries.join(", ")}`;
      const access = await commit(async (tx) => {
        const current = await accessForChange(tx, context.viewer.accountId);
        current.ipWhitelist = entries;
        current.updatedAt = new Date(context.stepUp.clock.now());
        await tx.flush();
        await bumpAccessVersion(tx, context.viewer.accountId);
        return current;
      }, detail);
      return { result: statusOf(access), detail };
    },
  );
}

/**
 * Issues a new API key and secret, revoking the previous pair and every token issued with it at once. The
 * secret is returned here and only here; the database keeps its keyed hash.
 */
export function regenerateApiCredentials(
  context: SecuredContext & { secretHasher: SecretHasher },
  input: { confirmation: Confirmation },
): Promise<{ apiKey: string; apiSecret: string; status: ApiAccessStatus }> {
  return securedOperation(
    context,
    AuditAction.REGENERATE_API_CREDENTIALS,
    input.confirmation,
    async () => {
      const access = await loadAccess(context.em, context.viewer.accountId);
      if (!access?.apiUser) throw badInput("Activate the API user first (setApiUserActive)", "apiUser");
    },
    async (_prepared, commit) => {
      const apiKey = generateApiKey();
      const apiSecret = generateApiSecret();
      const detail = `new API key ${apiKey}`;
      const access = await commit(async (tx) => {
        const current = await accessForChange(tx, context.viewer.accountId);
        current.apiKey = apiKey;
        current.secretHash = context.secretHasher.hash(apiSecret);
        current.keyCreatedAt = new Date(context.stepUp.clock.now());
        current.keyLastUsedAt = null;
        current.updatedAt = new Date(context.stepUp.clock.now());
        await tx.flush();
        await bumpAccessVersion(tx, context.viewer.accountId);
        return current;
      }, detail);
      return { result: { apiKey, apiSecret, status: statusOf(access) }, detail };
    },
  );
}
