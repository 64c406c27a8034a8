import type { TestContext } from 'node:test';

/**
 * Redis for tests that need it. Without one the test is skipped LOUDLY, and
 * CI fails any run with a skipped test, so a missing Redis never passes CI.
 */
export function redisUrlOrSkip(t: TestContext): string | undefined {
  const url = process.env.PALISADE_TEST_REDIS_URL;
  if (!url) {
    process.stderr.write(`\n*** SKIPPED "${t.name}": it needs Redis and none answered at 127.0.0.1:6379 (set REDIS_URL) ***\n\n`);
    t.skip('needs Redis, none available');
  }
  return url;
}
