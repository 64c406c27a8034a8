import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../support/server.ts';
import { startAnotherProcess } from '../support/second-process.ts';
import { registerUser, request } from '../support/http.ts';
import { createRoom, roomPost, say, sendMessage, syncOnce } from '../support/rooms.ts';
import { redisUrlOrSkip } from '../support/redis.ts';
import { redisConfig } from '../support/redis-config.ts';
import { waitFor } from '../support/wait-for.ts';
import { deferStack } from '../support/cleanup.ts';

test('two API processes on one Postgres and Redis: a long-poll on one wakes for an event persisted by the other', { timeout: 60_000 }, async (t) => {
  const redisUrl = redisUrlOrSkip(t);
  if (!redisUrl) return;
  const redis = redisConfig(redisUrl);
  const defer = deferStack(t);
  const first = await startTestServer({ ...redis });
  defer(() => first.stop());
  // The second process: same database, data dir (signing key) and Redis prefix.
  const second = await startAnotherProcess(first, redis);
  // Stopped before the first, whose stop drops the database.
  defer(() => second.stop());

  const alice = await registerUser(first.url, 'alice');
  const bob = await registerUser(second.url, 'bob');
  const roomId = await createRoom(first, alice, { preset: 'private_chat', invite: [bob.userId] });
  assert.equal((await roomPost(second, bob, roomId, 'join')).status, 200);

  const initial = await syncOnce(second, bob);
  const waiting = request(second.url, 'GET', `/_matrix/client/v3/sync?since=${encodeURIComponent(initial.next_batch)}&timeout=30000`, { token: bob.accessToken });
  await waitFor('bob’s long-poll to be parked', async () => (second.app.notifier.waitingFor(bob.userId) > 0 ? true : undefined));
  const eventId = await say(first, alice, roomId, 'written by the first process');
  const woken = await waiting;
  assert.equal(woken.status, 200);
  const timeline = woken.body.rooms?.join?.[roomId]?.timeline?.events ?? [];
  assert.ok(timeline.some((event: { event_id: string }) => event.event_id === eventId), 'the long-poll returned with the other process’s event');

  // Stream tokens from one process are accepted by the other, and both see the same history.
  const onFirst = await syncOnce(first, bob, { since: initial.next_batch });
  assert.ok(onFirst.rooms.join[roomId].timeline.events.some((event: { event_id: string }) => event.event_id === eventId));
  const reply = await say(second, bob, roomId, 'and back from the second');
  // A long-poll on the first wakes for it (the announcement may arrive just after the request).
  const aliceSees = await syncOnce(first, alice, { since: woken.body.next_batch, timeout: '20000' });
  assert.ok(aliceSees.rooms?.join?.[roomId]?.timeline.events.some((event: { event_id: string }) => event.event_id === reply), JSON.stringify(aliceSees));
});

test('two API processes spend from one rate-limit window (kept in Redis)', { timeout: 60_000 }, async (t) => {
  const redisUrl = redisUrlOrSkip(t);
  if (!redisUrl) return;
  const redis = redisConfig(redisUrl);
  const defer = deferStack(t);
  // Three messages per 30 s, whichever process they go through.
  const limits = { rc_message: { per_second: 0.1, burst_count: 3 } };
  const first = await startTestServer({ ...redis, ...limits });
  defer(() => first.stop());
  const second = await startAnotherProcess(first, redis, limits);
  defer(() => second.stop());

  const alice = await registerUser(first.url, 'alice');
  const roomId = await createRoom(first, alice);
  const statuses: number[] = [];
  for (const server of [first, second, first, second]) statuses.push((await sendMessage(server, alice, roomId)).status);
  assert.deepEqual(statuses, [200, 200, 200, 429], 'the fourth message is over the shared limit, on either process');
  const refused = await sendMessage(first, alice, roomId);
  assert.equal(refused.status, 429);
  assert.equal(refused.body.errcode, 'M_LIMIT_EXCEEDED');
  assert.ok(refused.body.retry_after_ms > 0);
  const messages = await first.app.db.selectFrom('events').select('event_id').where('room_id', '=', roomId).where('type', '=', 'm.room.message').execute();
  assert.equal(messages.length, 3, 'a refused send stored nothing');
});
