import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, type TestUser } from '../support/http.ts';
import { createRoom, putState, roomGet, roomPost, say, syncOnce } from '../support/rooms.ts';

/**
 * An initial sync reads every joined room's timeline and state in a few
 * set-based queries and converts all rooms' events together; each room must
 * still come out as if read alone.
 */

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
  carol = await registerUser(server.url, 'carol');
});
after(() => server.stop());

const key = (event: any) => `${event.type}|${event.state_key}`;

test("each room: state before the timeline plus the timeline's state is the current state; summary and prev_content as of now", async () => {
  const ok = async (result: Promise<{ status: number; body: unknown }>) => assert.equal((await result).status, 200);
  // Joins inside the timeline window.
  const busy = await createRoom(server, alice, { preset: 'public_chat', name: 'Busy' });
  await say(server, alice, busy, 'before the joins');
  await ok(roomPost(server, bob, busy, 'join'));
  await ok(roomPost(server, carol, busy, 'join'));
  await ok(putState(server, alice, busy, 'm.room.name', '', { name: 'Busy, renamed' }));
  // Long history: the timeline is limited and the state carries everything.
  const long = await createRoom(server, alice, { preset: 'public_chat', name: 'Long' });
  await ok(roomPost(server, bob, long, 'join'));
  for (let i = 0; i < 8; i++) await say(server, alice, long, `long ${i}`);
  // Nothing but its creation.
  const quiet = await createRoom(server, alice, { preset: 'private_chat' });

  const body = await syncOnce(server, alice, { filter: JSON.stringify({ room: { timeline: { limit: 4 } } }) });
  const expectedJoined = new Map([
    [busy, 3],
    [long, 2],
    [quiet, 1],
  ]);
  for (const [roomId, joined] of expectedJoined) {
    const room = body.rooms.join[roomId];
    assert.ok(room, `${roomId} is in rooms.join`);
    const current = (await roomGet(server, alice, roomId, 'state')).body as any[];
    const composed = new Map(room.state.events.map((event: any) => [key(event), event.event_id]));
    for (const event of room.timeline.events) if (event.state_key !== undefined) composed.set(key(event), event.event_id);
    assert.deepEqual(new Map(current.map((event) => [key(event), event.event_id])), composed, `${roomId}: state + timeline = current state`);
    for (const event of room.timeline.events) assert.ok(!room.state.events.some((state: any) => state.event_id === event.event_id), 'state is before the timeline');
    assert.equal(room.summary['m.joined_member_count'], joined, `${roomId}: members as of now`);
  }
  assert.deepEqual(body.rooms.join[busy].summary['m.heroes'], [bob.userId, carol.userId]);
  assert.equal(body.rooms.join[long].timeline.limited, true);
  assert.deepEqual(
    body.rooms.join[long].timeline.events.map((event: any) => event.content.body),
    ['long 4', 'long 5', 'long 6', 'long 7'],
  );
  const rename = body.rooms.join[busy].timeline.events.find((event: any) => event.type === 'm.room.name');
  assert.deepEqual(rename.unsigned.prev_content, { name: 'Busy' }, 'prior state is found for events of every room');
});
