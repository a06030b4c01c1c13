import type { TokenService } from "./auth/tokens.js";
import type { EventFeed } from "./callbacks/event-feed.js";
import type { EventWriter } from "./callbacks/event-writer.js";
import type { Clock } from "./clock.js";
import type { Config } from "./config.js";
import { DEFAULT_STEP_UP_POLICY, type StepUpDependencies } from "./confirmation/step-up.js";
import type { ApiTokenService } from "./credentials/api-token.js";
import type { CallbackSecretCache } from "./credentials/callback-secret-cache.js";
import type { SecretHasher } from "./credentials/keys.js";
import type { SecretBox } from "./credentials/secret-box.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import type { ClientAddressResolver } from "./network/client-address.js";
import { FailureRateLimiter } from "./network/rate-limiter.js";

/** What the core needs besides a database session: keys, clock, policies. Built once per service. */
export interface Runtime {
  config: Config;
  logger: Logger;
  clock: Clock;
  box: SecretBox;
  secretHasher: SecretHasher;
  tokens: TokenService;
  apiTokens: ApiTokenService;
  addresses: ClientAddressResolver;
  stepUp: StepUpDependencies;
  /** Failed or unauthenticated calls of `/token` per client address: 15 a minute, as on the platform. */
  tokenLimiter: FailureRateLimiter;
  /** "There are new callback events" across instances. */
  feed: EventFeed;
  /** Stores verified callbacks, with group commit. */
  events: EventWriter;
  /** The secrets verifying each account's callbacks, briefly in memory. */
  callbackSecrets: CallbackSecretCache;
  metrics: Metrics;
}

export function stepUpDependencies(config: Config, box: SecretBox, clock: Clock): StepUpDependencies {
  return {
    box,
    clock,
    policy: {
      ...DEFAULT_STEP_UP_POLICY,
      backoffBaseMs: config.confirmation.backoffMs,
      lockMs: config.confirmation.lockSeconds * 1000,
    },
  };
}

export function tokenLimiter(clock: Clock): FailureRateLimiter {
  return new FailureRateLimiter("token", 15, 60_000, clock);
}
