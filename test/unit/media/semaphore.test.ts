import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSemaphore } from '../../../server/media/semaphore.ts';

test('a semaphore never runs more than its limit at once, runs everything, and frees its slot on failure', async () => {
  const slots = createSemaphore(2);
  let running = 0;
  let peak = 0;
  const gates: Array<() => void> = [];
  const work = (fail: boolean) => async () => {
    running++;
    peak = Math.max(peak, running);
    await new Promise<void>((resolve) => gates.push(resolve));
    running--;
    if (fail) throw new Error('failed');
    return 'ok';
  };
  const results = [false, true, false, false, false].map((fail) => slots.run(work(fail)).catch((error: Error) => error.message));
  // Open the gates one by one; a newcomer arriving between two releases must still wait.
  while (gates.length > 0 || running > 0) {
    await new Promise((resolve) => setImmediate(resolve));
    gates.shift()?.();
    if (gates.length === 0 && running === 0) break;
    void slots.run(async () => {
      peak = Math.max(peak, running + 1);
      return 'late';
    });
  }
  assert.deepEqual(await Promise.all(results), ['ok', 'failed', 'ok', 'ok', 'ok']);
  assert.equal(peak, 2);
});
