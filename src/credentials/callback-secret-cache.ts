import type { EntityManager } from "@mikro-orm/core";
import type { Clock } from "../clock.js";
import { verifyingCallbackSecretsUntil } from "./callback-secret.service.js";
import type { SecretBox } from "./secret-box.js";

/** How long another instance's regeneration may go unseen here. */
export const CALLBACK_SECRET_CACHE_MS = 1000;

interface Entry {
  secrets: string[];
  validUntil: number;
}

/**
 * The secrets that verify an account's callbacks, kept in memory for at most one second (and never past the
 * expiry of a previous secret), so that the ingress path does no read for them. A regeneration on this instance
 * drops the account's entry at once; one on another instance is seen within a second.
 */
export class CallbackSecretCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  /** `em` is called only when the secrets are read from the database. */
  async verifying(em: () => EntityManager, accountId: string): Promise<string[]> {
    const now = this.clock.now();
    const cached = this.entries.get(accountId);
    if (cached && cached.validUntil > now) return cached.secrets;
    const { secrets, nextExpiry } = await verifyingCallbackSecretsUntil(em(), this.box, accountId, new Date(now));
    const validUntil = Math.min(now + CALLBACK_SECRET_CACHE_MS, nextExpiry?.getTime() ?? Infinity);
    this.entries.set(accountId, { secrets, validUntil });
    return secrets;
  }

  /** Forgets an account's secrets (after a regeneration here). */
  invalidate(accountId: string): void {
    this.entries.delete(accountId);
  }
}
