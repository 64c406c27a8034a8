import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, type TestUser } from '../support/http.ts';
import { createRoom, roomPost, sendMessage, syncOnce } from '../support/rooms.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
});
after(() => server.stop());

const CONCURRENT_SENDS = 30;

test('concurrent sends into one room keep its DAG linear and every event reaches sync once', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
  const start = await syncOnce(server, bob);

  // The same transaction ID sent twice at once must still create one event.
  const sends = Array.from({ length: CONCURRENT_SENDS }, (_, i) => sendMessage(server, i % 2 ? alice : bob, roomId, { msgtype: 'm.text', body: `m${i}` }, `c${i}`));
  const replays = [sendMessage(server, alice, roomId, { msgtype: 'm.text', body: 'dup' }, 'dup'), sendMessage(server, alice, roomId, { msgtype: 'm.text', body: 'dup' }, 'dup')];
  const results = await Promise.all([...sends, ...replays]);
  for (const result of results) assert.equal(result.status, 200, JSON.stringify(result.body));
  assert.equal(results.at(-1)!.body.event_id, results.at(-2)!.body.event_id);

  const rows = await server.app.db.selectFrom('events').select(['event_id', 'json', 'depth']).where('room_id', '=', roomId).orderBy('stream_ordering').execute();
  for (let i = 1; i < rows.length; i++) {
    assert.deepEqual(rows[i].json.prev_events, [rows[i - 1].event_id], `event ${i} follows event ${i - 1}`);
    assert.equal(rows[i].depth, rows[i - 1].depth + 1);
  }

  const synced = await syncOnce(server, bob, { since: start.next_batch, filter: JSON.stringify({ room: { timeline: { limit: 100 } } }) });
  const bodies = synced.rooms.join[roomId].timeline.events.map((event: any) => event.content.body);
  assert.equal(bodies.length, CONCURRENT_SENDS + 1);
  assert.equal(new Set(bodies).size, bodies.length, 'no duplicates');
});

test('replayed transaction IDs queued together with new sends return the events they made first', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  const first = await Promise.all(Array.from({ length: 6 }, (_, i) => sendMessage(server, alice, roomId, { msgtype: 'm.text', body: `first ${i}` }, `r${i}`)));
  for (const result of first) assert.equal(result.status, 200, JSON.stringify(result.body));
  // In flight at once, so they share transactions: replays of r0..r5 between sends that are new.
  const mixed = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      i % 2 === 0
        ? sendMessage(server, alice, roomId, { msgtype: 'm.text', body: `first ${i / 2}` }, `r${i / 2}`)
        : sendMessage(server, alice, roomId, { msgtype: 'm.text', body: `new ${i}` }, `n${i}`),
    ),
  );
  mixed.forEach((result, i) => {
    assert.equal(result.status, 200, JSON.stringify(result.body));
    if (i % 2 === 0) assert.equal(result.body.event_id, first[i / 2].body.event_id, `r${i / 2} is answered with its first event`);
  });
  const bodies = (await server.app.db.selectFrom('events').select('json').where('room_id', '=', roomId).where('type', '=', 'm.room.message').execute()).map((row) => row.json.content.body);
  assert.equal(bodies.length, 12, 'six first sends and six new ones; no replay made an event');
});

test('sends queued behind each other are refused one by one: a refused send takes no other send down with it', async () => {
  const roomId = await createRoom(server, alice, { preset: 'private_chat' });
  const carol = await registerUser(server.url, 'carol');
  const before = await server.app.db.selectFrom('events').select('event_id').where('room_id', '=', roomId).execute();

  // Interleave sends that must succeed with ones the room's rules refuse (carol is not a member)
  // and ones too large to be an event, all in flight at once so they share transactions.
  const huge = 'x'.repeat(70_000);
  const sends = Array.from({ length: 24 }, (_, i) => {
    if (i % 3 === 1) return sendMessage(server, carol, roomId, { msgtype: 'm.text', body: `intruder ${i}` }, `carol${i}`);
    if (i % 3 === 2) return sendMessage(server, alice, roomId, { msgtype: 'm.text', body: huge }, `huge${i}`);
    return sendMessage(server, alice, roomId, { msgtype: 'm.text', body: `ok ${i}` }, `ok${i}`);
  });
  const results = await Promise.all(sends);
  results.forEach((result, i) => {
    if (i % 3 === 0) assert.equal(result.status, 200, JSON.stringify(result.body));
    else if (i % 3 === 1) assert.deepEqual([result.status, result.body.errcode], [403, 'M_FORBIDDEN']);
    else assert.deepEqual([result.status, result.body.errcode], [413, 'M_TOO_LARGE']);
  });

  const rows = await server.app.db.selectFrom('events').select(['event_id', 'json']).where('room_id', '=', roomId).orderBy('stream_ordering').execute();
  const added = rows.slice(before.length).map((row) => row.json.content.body);
  // Requests in flight at once arrive in any order; what matters is that exactly the accepted ones are there.
  assert.deepEqual(added.sort(), results.flatMap((_, i) => (i % 3 === 0 ? [`ok ${i}`] : [])).sort(), 'exactly the accepted sends');
  for (let i = 1; i < rows.length; i++) assert.deepEqual(rows[i].json.prev_events, [rows[i - 1].event_id]);
  const txns = await server.app.db.selectFrom('event_txns').select('txn_id').where('user_id', '=', carol.userId).execute();
  assert.deepEqual(txns, [], 'a refused send records no transaction ID');
});

test('a send to an unknown room is refused with 404, also when queued with others', async () => {
  const results = await Promise.all([1, 2, 3].map((i) => sendMessage(server, alice, '!nowhere:localhost', { msgtype: 'm.text', body: `lost ${i}` }, `lost${i}`)));
  for (const result of results) assert.deepEqual([result.status, result.body.errcode], [404, 'M_NOT_FOUND']);
});
