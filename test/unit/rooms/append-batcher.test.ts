import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKeyedBatcher } from '../../../server/rooms/append-batcher.ts';

test('items of one key queued behind a running batch form the next batch, in order, capped at the maximum', async () => {
  const batches: number[][] = [];
  let release!: () => void;
  const firstBatchHeld = new Promise<void>((resolve) => (release = resolve));
  const batcher = createKeyedBatcher<number, number>(3, async (_key, items) => {
    batches.push(items);
    if (batches.length === 1) await firstBatchHeld;
    return items.map((item) => ({ ok: true as const, value: item * 10 }));
  });
  const results = Promise.all([1, 2, 3, 4, 5, 6].map((item) => batcher.submit('room', item)));
  release();
  assert.deepEqual(await results, [10, 20, 30, 40, 50, 60]);
  assert.deepEqual(batches, [[1], [2, 3, 4], [5, 6]]);
});

test('keys do not wait for each other', async () => {
  const running: string[] = [];
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const batcher = createKeyedBatcher<string, string>(10, async (key, items) => {
    running.push(key);
    if (key === 'slow') await held;
    return items.map((item) => ({ ok: true as const, value: item }));
  });
  const slow = batcher.submit('slow', 'a');
  assert.equal(await batcher.submit('fast', 'b'), 'b', 'a batch of another key runs while one is held');
  release();
  assert.equal(await slow, 'a');
  assert.deepEqual(running, ['slow', 'fast']);
});

test('each item gets its own refusal, and a failing batch refuses all its items but not the next batch', async () => {
  let calls = 0;
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const batcher = createKeyedBatcher<number, number>(10, async (_key, items) => {
    calls++;
    if (calls === 1) {
      await held;
      return items.map((item) => (item % 2 ? { ok: true as const, value: item } : { ok: false as const, error: new Error(`even ${item}`) }));
    }
    if (calls === 2) throw new Error('batch broke');
    return items.map((item) => ({ ok: true as const, value: item }));
  });
  const first = [batcher.submit('k', 1)];
  const second = [batcher.submit('k', 2), batcher.submit('k', 3)];
  release();
  assert.equal(await first[0], 1);
  await assert.rejects(second[0], /batch broke/);
  await assert.rejects(second[1], /batch broke/);
  assert.equal(await batcher.submit('k', 4), 4, 'the key keeps working after a failed batch');
  const mixed = createKeyedBatcher<number, number>(10, async (_key, items) =>
    items.map((item) => (item % 2 ? { ok: true as const, value: item } : { ok: false as const, error: new Error(`even ${item}`) })),
  );
  assert.equal(await mixed.submit('k', 5), 5);
  await assert.rejects(mixed.submit('k', 6), /even 6/);
});
