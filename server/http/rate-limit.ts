import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { limitExceeded } from '../errors.ts';

/** Synapse's rate-limit shape: a steady rate and the burst allowed on top of it. */
export interface RateLimitSetting {
  per_second: number;
  burst_count: number;
}

export interface RateLimiter {
  /** Spends one unit for `key`; throws M_LIMIT_EXCEEDED with retry_after_ms when none is left. */
  consume(key: string): Promise<void>;
  /** True when `key` has nothing left, without spending. */
  isLimited(key: string): Promise<boolean>;
  reset(key: string): Promise<void>;
}

/** Where several processes keep their shared windows: a Redis connection and the deployment's key prefix. */
export interface SharedRateLimitStore {
  client: Redis;
  prefix: string;
}

/**
 * A fixed window of `burst_count` units refilled every `burst_count / per_second`
 * seconds: the same long-run rate and burst as Synapse's token bucket.
 * With `shared` (Redis configured, so maybe several API processes) the windows
 * live in Redis and every process spends from the same one; while Redis does
 * not answer, each process falls back to a window of its own in memory.
 */
export function createRateLimiter(setting: RateLimitSetting, keyPrefix: string, shared?: SharedRateLimitStore): RateLimiter {
  const window = { points: setting.burst_count, duration: Math.max(1, Math.ceil(setting.burst_count / setting.per_second)) };
  const memory = new RateLimiterMemory({ keyPrefix, ...window });
  const limiter = shared
    ? new RateLimiterRedis({ storeClient: shared.client, keyPrefix: `${shared.prefix}:rate:${keyPrefix}`, ...window, insuranceLimiter: memory })
    : memory;
  return {
    async consume(key) {
      try {
        await limiter.consume(key);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) throw limitExceeded(rejection.msBeforeNext);
        throw rejection;
      }
    },
    async isLimited(key) {
      const state = await limiter.get(key);
      return state !== null && state.remainingPoints <= 0;
    },
    async reset(key) {
      await limiter.delete(key);
    },
  };
}
