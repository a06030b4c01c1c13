import type { EntityManager } from "@mikro-orm/core";
import type { Clock } from "../clock.js";
import { RateLimitWindow } from "./rate-limit-window.entity.js";

/**
 * Counts failed calls per key in fixed windows kept in the database, so every instance sees the same count.
 * A key with `limit` failures in the current window is refused until the window ends.
 */
export class FailureRateLimiter {
  constructor(
    private readonly scope: string,
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {}

  private window(): number {
    const now = this.clock.now();
    return now - (now % this.windowMs);
  }

  /** Seconds until the key may call again, or 0 when it may call now. */
  async retryAfterSeconds(em: EntityManager, key: string): Promise<number> {
    const windowStart = this.window();
    const row = await em.fork().findOne(RateLimitWindow, { key: `${this.scope}:${key}`, windowStart });
    if (!row || row.hits < this.limit) return 0;
    return Math.max(1, Math.ceil((windowStart + this.windowMs - this.clock.now()) / 1000));
  }

  async recordFailure(em: EntityManager, key: string): Promise<void> {
    const windowStart = this.window();
    const connection = em.getConnection();
    await connection.execute(
      "insert into rate_limit_window (key, window_start, hits) values (?, ?, 1) " +
        "on conflict (key, window_start) do update set hits = rate_limit_window.hits + 1",
      [`${this.scope}:${key}`, windowStart],
    );
    // Only this scope's old windows: other scopes keep windows of other lengths in the same table.
    const prefix = `${this.scope}:`;
    await connection.execute("delete from rate_limit_window where substr(key, 1, ?) = ? and window_start < ?", [
      prefix.length,
      prefix,
      windowStart - this.windowMs,
    ]);
  }
}
