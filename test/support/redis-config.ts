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
