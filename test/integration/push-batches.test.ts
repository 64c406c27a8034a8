import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { createRoom, roomPost, say } from '../support/rooms.ts';
import { waitFor } from '../support/wait-for.ts';

let server: TestServer;
let alice: TestUser;
let ivan: TestUser;
let erin: TestUser;
let frank: TestUser;
let roomId: string;

before(async () => {
  server = await startTestServer();
  [alice, ivan, erin, frank] = await Promise.all(['alice', 'ivan', 'erin', 'frank'].map((name) => registerUser(server.url, name)));
  roomId = await createRoom(server, alice, { preset: 'public_chat' });
  for (const user of [ivan, erin, frank]) assert.equal((await roomPost(server, user, roomId, 'join')).status, 200);
  const ignore = await request(server.url, 'PUT', `/_matrix/client/v3/user/${encodeURIComponent(frank.userId)}/account_data/m.ignored_user_list`, {
    token: frank.accessToken,
    body: { ignored_users: { [ivan.userId]: {} } },
  });
  assert.equal(ignore.status, 200);
});
after(async () => {
  await server.stop();
});

const notifiedBodies = async (user: TestUser): Promise<string[]> => {
  const list = await request(server.url, 'GET', '/_matrix/client/v3/notifications?limit=100', { token: user.accessToken });
  assert.equal(list.status, 200);
  return list.body.notifications.map((entry: any) => entry.event.content.body).sort();
};

const evaluatedUpTo = async (): Promise<{ announced: number; evaluated: number }> => {
  const row = await server.app.db.selectFrom('push_progress').select(['announced', 'evaluated']).executeTakeFirstOrThrow();
  return { announced: Number(row.announced), evaluated: Number(row.evaluated) };
};

const caughtUp = (position: number) =>
  waitFor('push evaluation to catch up', async () => {
    const progress = await evaluatedUpTo();
    return progress.evaluated >= position ? progress : undefined;
  });

test('a burst of sends from two senders is evaluated in batches: every recipient is notified once per event, an ignored sender never', async () => {
  const sent = await Promise.all(
    Array.from({ length: 20 }, (_, index) => say(server, index % 2 === 0 ? alice : ivan, roomId, `${index % 2 === 0 ? 'alice' : 'ivan'} ${String(index).padStart(2, '0')}`)),
  );
  const newest = await server.app.db.selectFrom('events').select((eb) => eb.fn.max('stream_ordering').as('max')).where('event_id', 'in', sent).executeTakeFirstOrThrow();
  await caughtUp(Number(newest.max));

  const all = Array.from({ length: 20 }, (_, index) => `${index % 2 === 0 ? 'alice' : 'ivan'} ${String(index).padStart(2, '0')}`).sort();
  assert.deepEqual(await notifiedBodies(erin), all, 'erin is notified of every message, once');
  assert.deepEqual(
    await notifiedBodies(frank),
    all.filter((body) => body.startsWith('alice')),
    'frank ignores ivan: only alice’s messages notify him',
  );
  assert.deepEqual(await notifiedBodies(alice), all.filter((body) => body.startsWith('ivan')), 'one’s own messages never notify');
});

test('evaluating events again (a crash before the progress row moved) adds no second notification', async () => {
  const before = await evaluatedUpTo();
  // As if the batches since the start had been evaluated but the process died before recording progress.
  await sql`UPDATE push_progress SET evaluated = 0`.execute(server.app.db);
  const eventId = await say(server, alice, roomId, 'alice again');
  const position = await server.app.db.selectFrom('events').select('stream_ordering').where('event_id', '=', eventId).executeTakeFirstOrThrow();
  const progress = await caughtUp(Number(position.stream_ordering));
  assert.ok(progress.evaluated > before.evaluated);

  const duplicates = await sql<{ user_id: string; event_id: string }>`
    SELECT user_id, event_id FROM push_notifications GROUP BY user_id, event_id HAVING count(*) > 1`.execute(server.app.db);
  assert.deepEqual(duplicates.rows, []);
  const erinBodies = await notifiedBodies(erin);
  assert.equal(erinBodies.length, 21, 'the twenty from before, once each, and the new one');
  assert.ok(erinBodies.includes('alice again'));
});
