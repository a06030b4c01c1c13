/**
 * The time as the security rules see it (one-time code steps, back-off and lock windows, rate-limit windows).
 * The service takes it as a dependency so that tests can move through time instead of waiting.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
