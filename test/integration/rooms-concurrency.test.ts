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
