import type { Clock } from "../clock.js";
import { rateLimited, type DomainError } from "../domain-error.js";

const MINUTE_MS = 60_000;

/** One account's bucket: what it may still spend, as of `at`. */
interface Bucket {
  tokens: number;
  at: number;
}

/**
 * The request budget one account's users and API user share, so that one merchant's traffic cannot take the
 * database connections every account's requests need. A token bucket per account: it holds up to `perMinute`
 * operations and refills at `perMinute` a minute, so a burst of the whole budget is allowed once, then the
 * steady rate.
 *
 * The budget is per instance, in memory: behind a load balancer an account may spend it on each instance. It
 * bounds what one account costs one instance's database pool, which is what it protects. An account whose bucket
 * has refilled is forgotten (a full bucket is what an unknown account starts with), so memory holds only the
 * accounts that spent something within the last minute.
 */
export class AccountBudget {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private lastSweep: number;

  constructor(
    /** Operations per minute per account (`ACCOUNT_REQUEST_BUDGET`). */
    private readonly perMinute: number,
    private readonly clock: Clock,
  ) {
    this.perMs = perMinute / MINUTE_MS;
    this.lastSweep = clock.now();
  }

  /**
   * Spends one operation of the account's budget: null when it may run, or RATE_LIMITED with
   * `retryAfterSeconds`, the time until one operation is available again.
   */
  charge(accountId: string): DomainError | null {
    const now = this.clock.now();
    this.sweep(now);
    const bucket = this.refilled(this.buckets.get(accountId), now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      this.buckets.set(accountId, bucket);
      return null;
    }
    this.buckets.set(accountId, bucket);
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000));
    return rateLimited(
      `The account's request budget (${this.perMinute} operations a minute) is spent: retry in ${retryAfterSeconds} s`,
      retryAfterSeconds,
    );
  }

  /** Accounts held in memory (those that spent anything within the last minute or so). */
  get size(): number {
    return this.buckets.size;
  }

  /** The bucket as of `now`. A clock that went back refills nothing. */
  private refilled(bucket: Bucket | undefined, now: number): Bucket {
    if (!bucket) return { tokens: this.perMinute, at: now };
    const elapsed = Math.max(0, now - bucket.at);
    return { tokens: Math.min(this.perMinute, bucket.tokens + elapsed * this.perMs), at: Math.max(now, bucket.at) };
  }

  /** Once a minute, forgets the accounts whose buckets are full again. */
  private sweep(now: number): void {
    if (now - this.lastSweep < MINUTE_MS && now >= this.lastSweep) return;
    this.lastSweep = now;
    for (const [accountId, bucket] of this.buckets) {
      if (this.refilled(bucket, now).tokens >= this.perMinute) this.buckets.delete(accountId);
    }
  }
}
