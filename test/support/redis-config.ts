import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import type { ConfigFile } from '../../server/config.ts';

/** Config keys that point a test server (or worker) at the test Redis, under a key prefix of its own. */
export function redisConfig(url: string): Pick<ConfigFile, 'redis' | 'redis_key_prefix'> {
  const parsed = new URL(url);
  return {
    redis: { enabled: true, host: parsed.hostname, port: Number(parsed.port || 6379) },
    redis_key_prefix: `palisade-test-${randomBytes(4).toString('hex')}`,
  };
}

/** Deletes every key under the prefix (never FLUSHALL: the test Redis is shared). Returns how many went. */
export async function wipePrefix(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url);
  try {
    let deleted = 0;
    for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 500 })) {
      if ((keys as string[]).length) deleted += await redis.del(...(keys as string[]));
    }
    return deleted;
  } finally {
    redis.disconnect();
  }
}
