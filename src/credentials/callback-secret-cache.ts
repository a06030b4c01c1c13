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
 *
 * When an entry has expired, the callbacks that arrive while it is read again wait for that one read instead of
 * each starting its own: under load, hundreds arrive during a read.
 */
export class CallbackSecretCache {
  private readonly entries = new Map<string, Entry>();
  /** The read in flight per account; a regeneration here forgets it, so that it fills no entry. */
  private readonly reads = new Map<string, Promise<string[]>>();

  constructor(
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  /** `em` is called only when the secrets are read from the database. */
  async verifying(em: () => EntityManager, accountId: string): Promise<string[]> {
    const now = this.clock.now();
    const cached = this.entries.get(accountId);
    if (cached && cached.validUntil > now) return cached.secrets;
    const pending = this.reads.get(accountId);
    if (pending) return pending;
    // Settles after this call returns (so `read` is set by then), even when `em` throws.
    const read: Promise<string[]> = Promise.resolve()
      .then(() => verifyingCallbackSecretsUntil(em(), this.box, accountId, new Date(now)))
      .then(
        ({ secrets, nextExpiry }) => {
          if (this.reads.get(accountId) === read) {
            this.reads.delete(accountId);
            this.entries.set(accountId, { secrets, validUntil: Math.min(now + CALLBACK_SECRET_CACHE_MS, nextExpiry?.getTime() ?? Infinity) });
          }
          return secrets;
        },
        (error: unknown) => {
          if (this.reads.get(accountId) === read) this.reads.delete(accountId);
          throw error;
        },
      );
    this.reads.set(accountId, read);
    return read;
  }

  /** Forgets an account's secrets (after a regeneration here), and any read of them in flight. */
  invalidate(accountId: string): void {
    this.entries.delete(accountId);
    this.reads.delete(accountId);
  }
}
