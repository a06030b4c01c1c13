import type { EntityManager } from "@mikro-orm/core";
import { Account } from "../access/account.entity.js";
import type { Viewer } from "../access/viewer.js";
import { AuditAction } from "../audit/audit.service.js";
import type { Confirmation } from "../confirmation/step-up.js";
import { badInput, forbidden } from "../domain-error.js";
import { CallbackSecret } from "./callback-secret.entity.js";
import { generateCallbackSecret } from "./generate.js";
import type { SecretBox } from "./secret-box.js";
import { securedOperation, type SecuredContext } from "./secured-operation.js";

/** Longest overlap during which the previous secret still verifies callbacks: 7 days. */
export const MAX_PREVIOUS_SECRET_VALID_FOR = 7 * 24 * 60 * 60;

export interface CallbackSecretStatus {
  isSet: boolean;
  createdAt: Date | null;
  /** When the previous secret stops verifying callbacks, if it still does. */
  previousSecretExpiresAt: Date | null;
}

/** Binds a sealed callback secret to its account and row. */
export function callbackSecretAssociatedData(accountId: string, secretId: string): string {
  return `account:${accountId}:callback-secret:${secretId}`;
}

/** The account's secrets that verify callbacks at `now`, newest first: the current one and any unexpired previous one. */
function liveSecrets(em: EntityManager, accountId: string, now: Date): Promise<CallbackSecret[]> {
  return em.find(
    CallbackSecret,
    { account: accountId, $or: [{ expiresAt: null }, { expiresAt: { $gt: now } }] },
    { orderBy: { createdAt: "desc" } },
  );
}

async function statusAt(em: EntityManager, accountId: string, now: Date): Promise<CallbackSecretStatus> {
  const secrets = await liveSecrets(em, accountId, now);
  const current = secrets.find((secret) => secret.expiresAt === null) ?? null;
  const previous = secrets.find((secret) => secret.expiresAt !== null) ?? null;
  return {
    isSet: current !== null,
    createdAt: current?.createdAt ?? null,
    previousSecretExpiresAt: previous?.expiresAt ?? null,
  };
}

/** Owner only: whether a secret is set, when it was made, and any pending expiry of the previous one. */
export async function callbackSecretStatus(em: EntityManager, viewer: Viewer, now: Date): Promise<CallbackSecretStatus> {
  if (!viewer.isOwner) throw forbidden("Only the account Owner can see the callback secret's state");
  return statusAt(em, viewer.accountId, now);
}

/**
 * Makes a new callback secret and returns it, once. By default the previous secret dies at once, as on the
 * platform; `previousSecretValidFor` seconds (0 to 7 days) keep it verifying callbacks until then.
 */
export function regenerateCallbackSecret(
  context: SecuredContext & { callbackSecrets: { invalidate(accountId: string): void } },
  input: { confirmation: Confirmation; previousSecretValidFor?: number | null },
): Promise<{ callbackSecret: string; status: CallbackSecretStatus }> {
  const validFor = input.previousSecretValidFor ?? 0;
  return securedOperation(
    context,
    AuditAction.REGENERATE_CALLBACK_SECRET,
    input.confirmation,
    () => {
      if (!Number.isInteger(validFor) || validFor < 0 || validFor > MAX_PREVIOUS_SECRET_VALID_FOR) {
        throw badInput(
          `previousSecretValidFor must be between 0 and ${MAX_PREVIOUS_SECRET_VALID_FOR} seconds (7 days)`,
          "previousSecretValidFor",
        );
      }
    },
    async (_prepared, commit) => {
      const accountId = context.viewer.accountId;
      const now = new Date(context.stepUp.clock.now());
      const callbackSecret = generateCallbackSecret();
      const detail = validFor === 0 ? "previous secret revoked at once" : `previous secret valid for ${validFor} s more`;
      await commit(async (tx) => {
        await tx.nativeDelete(CallbackSecret, { account: accountId, expiresAt: { $ne: null } });
        if (validFor === 0) await tx.nativeDelete(CallbackSecret, { account: accountId });
        else {
          await tx.nativeUpdate(
            CallbackSecret,
            { account: accountId, expiresAt: null },
            { expiresAt: new Date(now.getTime() + validFor * 1000) },
          );
        }
        const secret = tx.create(CallbackSecret, { account: tx.getReference(Account, accountId), sealed: "", createdAt: now });
        secret.sealed = context.stepUp.box.encrypt(callbackSecret, callbackSecretAssociatedData(accountId, secret.id));
      }, detail);
      context.callbackSecrets.invalidate(accountId);
      const status = await statusAt(context.em.fork(), accountId, now);
      return { result: { callbackSecret, status }, detail };
    },
  );
}

/**
 * The secrets that verify an account's callbacks at `now` (decrypted), and when the first of them expires
 * (null when none does): until then the list stays right unless a regeneration happens.
 */
export async function verifyingCallbackSecretsUntil(
  em: EntityManager,
  box: SecretBox,
  accountId: string,
  now: Date,
): Promise<{ secrets: string[]; nextExpiry: Date | null }> {
  const rows = await liveSecrets(em, accountId, now);
  const expiries = rows.flatMap((secret) => (secret.expiresAt ? [secret.expiresAt.getTime()] : []));
  return {
    secrets: rows.map((secret) => box.decrypt(secret.sealed, callbackSecretAssociatedData(accountId, secret.id))),
    nextExpiry: expiries.length === 0 ? null : new Date(Math.min(...expiries)),
  };
}

/** The secrets that verify an account's callbacks at `now`: the current one and any previous one still valid. */
export async function verifyingCallbackSecrets(
  em: EntityManager,
  box: SecretBox,
  accountId: string,
  now: Date,
): Promise<string[]> {
  return (await verifyingCallbackSecretsUntil(em, box, accountId, now)).secrets;
}
