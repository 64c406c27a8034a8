import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalPositionTracker } from '../../../server/sync/stream-positions.ts';
import { createNotifier } from '../../../server/sync/notifier.ts';
import { formatStreamToken, parseRoomPosition, parseStreamToken, STREAMS, type StreamToken } from '../../../server/sync/stream-token.ts';

/** A token at `room` with every other stream at 0 (so this file does not change when streams are added). */
const at = (room: number): StreamToken => ({ ...(Object.fromEntries(STREAMS.map((name) => [name, 0])) as Record<string, number>), room }) as StreamToken;

test('readers never pass a position still being written, whatever the commit order', () => {
  const tracker = createLocalPositionTracker(10);
  const advances: number[] = [];
  tracker.onAdvance((position) => advances.push(position));
  const first = tracker.reserve();
  const second = tracker.reserve();
  second.assign(12);
  assert.equal(tracker.currentPosition(), 10, 'the first writer has no position yet, but it will be above 10');
  first.assign(11);
  second.settle();
  assert.equal(tracker.currentPosition(), 10, '12 committed, 11 still pending');
  first.settle();
  assert.equal(tracker.currentPosition(), 12);
  assert.deepEqual(advances, [12]);
});

test('a writer whose position is not yet known holds readers at what was allocated before it', () => {
  const tracker = createLocalPositionTracker(0);
  const early = tracker.reserve();
  early.assign(1);
  const late = tracker.reserve();
  early.settle();
  assert.equal(tracker.currentPosition(), 1);
  late.assign(2);
  assert.equal(tracker.currentPosition(), 1);
  late.settle();
  assert.equal(tracker.currentPosition(), 2);
  const abandoned = tracker.reserve();
  abandoned.settle();
  assert.equal(tracker.currentPosition(), 2, 'a rolled-back reservation without a position changes nothing');
});

test('the notifier wakes a listener that is already behind at once, and others on touch', async () => {
  const notifier = createNotifier();
  notifier.touch('room', ['@a:x'], 5);
  const behind = notifier.listen('@a:x');
  assert.equal(await behind.wait(at(4), 60_000), true);
  behind.close();

  const waiting = notifier.listen('@b:x');
  const woken = waiting.wait(at(5), 60_000);
  assert.equal(notifier.waitingFor('@b:x'), 1);
  notifier.touch('room', ['@a:x'], 6);
  notifier.touch('room', ['@b:x'], 5);
  notifier.touch('room', ['@b:x'], 7);
  assert.equal(await woken, true);
  waiting.close();
  assert.equal(notifier.waitingFor('@b:x'), 0);

  const idle = notifier.listen('@c:x');
  assert.equal(await idle.wait(at(0), 10), false, 'times out when nothing happens');
  const device = notifier.listen('@c:x', 'PHONE');
  const deviceWoken = device.wait(at(0), 60_000);
  notifier.touch('room', ['@c:x'], 3, 'LAPTOP');
  assert.equal(notifier.waitingFor('@c:x'), 1, 'a touch for another device wakes nobody');
  notifier.touch('room', ['@c:x'], 3, 'PHONE');
  assert.equal(await deviceWoken, true);
  device.close();
  const stopping = idle.wait(at(0), 60_000);
  notifier.stop();
  assert.equal(await stopping, false, 'stop releases long-polls');
});

test('stream tokens round-trip and reject anything we did not issue', () => {
  assert.deepEqual(parseStreamToken('s42'), at(42), 'an older, shorter token reads the missing streams as 0');
  assert.equal(formatStreamToken(at(42)), `s42${'_0'.repeat(STREAMS.length - 1)}`);
  assert.deepEqual(parseStreamToken(formatStreamToken(at(42))), at(42));
  assert.equal(parseRoomPosition('t7', 'from'), 7);
  assert.equal(parseRoomPosition('s9', 'from'), 9);
  for (const bad of ['', '42', 's', 's-1', `s${'1_'.repeat(STREAMS.length)}1`, 's1_', 'sx', 's1.5', `s${'1'.repeat(16)}`]) {
    assert.throws(() => parseStreamToken(bad), (error: any) => error.errcode === 'M_INVALID_PARAM', bad);
  }
  assert.throws(() => parseRoomPosition('x1', 'from'), (error: any) => error.errcode === 'M_INVALID_PARAM');
});
