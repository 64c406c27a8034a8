import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, roomPost, syncOnce } from '../support/rooms.ts';
import { assertEventMatchesSpec, assertMatchesSpec } from '../support/spec-schema.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let roomId: string;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
  carol = await registerUser(server.url, 'carol');
  roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
});
after(() => server.stop());

const typingPath = (room: string, userId: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/typing/${encodeURIComponent(userId)}`;

async function putTyping(user: TestUser, body: unknown, room = roomId, userId = user.userId) {
  return request(server.url, 'PUT', typingPath(room, userId), { token: user.accessToken, body });
}

function typingIn(body: any, room: string): string[] | undefined {
  const event = body.rooms.join[room]?.ephemeral?.events.find((entry: any) => entry.type === 'm.typing');
  return event?.content.user_ids;
}

test('typing is seen by joined members in ephemeral, until it stops', async () => {
  const bobStart = await syncOnce(server, bob);
  const carolStart = await syncOnce(server, carol);
  const started = await putTyping(alice, { typing: true, timeout: 20_000 });
  assert.equal(started.status, 200);
  await assertMatchesSpec({ method: 'PUT', path: typingPath(roomId, alice.userId), status: 200, body: started.body });

  const seen = await syncOnce(server, bob, { since: bobStart.next_batch });
  assert.deepEqual(typingIn(seen, roomId), [alice.userId]);
  const event = seen.rooms.join[roomId].ephemeral.events.find((entry: any) => entry.type === 'm.typing');
  await assertEventMatchesSpec({ ...event, room_id: roomId });
  assert.deepEqual(seen.rooms.join[roomId].timeline.events, [], 'an ephemeral-only update has an empty timeline');
  const initial = await syncOnce(server, bob);
  assert.deepEqual(typingIn(initial, roomId), [alice.userId], 'an initial sync shows who types now');
  const outsider = await syncOnce(server, carol, { since: carolStart.next_batch });
  assert.equal(outsider.rooms.join[roomId], undefined, 'someone not in the room sees nothing');

  const unchanged = await syncOnce(server, bob, { since: seen.next_batch });
  assert.equal(typingIn(unchanged, roomId), undefined, 'nothing repeated while nothing changes');

  // Renewing the timeout changes nothing others see; stopping does.
  await putTyping(alice, { typing: true, timeout: 20_000 });
  const renewed = await syncOnce(server, bob, { since: seen.next_batch });
  assert.equal(typingIn(renewed, roomId), undefined);
  assert.equal((await putTyping(alice, { typing: false })).status, 200);
  const stopped = await syncOnce(server, bob, { since: seen.next_batch });
  assert.deepEqual(typingIn(stopped, roomId), []);
});

test('typing ends by itself after the timeout, and a waiting sync is woken with the new list', async () => {
  const start = await syncOnce(server, bob);
  await putTyping(alice, { typing: true, timeout: 300 });
  const typing = await syncOnce(server, bob, { since: start.next_batch });
  assert.deepEqual(typingIn(typing, roomId), [alice.userId]);
  // Long-poll: nothing else happens in the room, so only the timeout can answer it before 30 s.
  const woken = await syncOnce(server, bob, { since: typing.next_batch, timeout: '30000' });
  assert.deepEqual(typingIn(woken, roomId), []);
});

test('refusals: typing for someone else, in a room one is not in, or with a bad body changes nothing', async () => {
  const otherRoom = await createRoom(server, carol);
  const before = { here: server.app.typing.typingIn(roomId), there: server.app.typing.typingIn(otherRoom), position: server.app.typing.currentPosition() };
  const cases = [
    { user: bob, room: roomId, userId: alice.userId, body: { typing: true, timeout: 1000 }, status: 403, errcode: 'M_FORBIDDEN' },
    { user: bob, room: otherRoom, userId: bob.userId, body: { typing: true, timeout: 1000 }, status: 403, errcode: 'M_FORBIDDEN' },
    { user: bob, room: '!unknown:localhost', userId: bob.userId, body: { typing: true }, status: 403, errcode: 'M_FORBIDDEN' },
    { user: bob, room: roomId, userId: bob.userId, body: { timeout: 1000 }, status: 400, errcode: 'M_MISSING_PARAM' },
    { user: bob, room: roomId, userId: bob.userId, body: { typing: 'yes' }, status: 400, errcode: 'M_BAD_JSON' },
    { user: bob, room: roomId, userId: bob.userId, body: { typing: true, timeout: -5 }, status: 400, errcode: 'M_BAD_JSON' },
  ];
  for (const refusal of cases) {
    const result = await putTyping(refusal.user, refusal.body, refusal.room, refusal.userId);
    await assertRefusal(result, { ...refusal, method: 'PUT', path: typingPath(refusal.room, refusal.userId), checkSpec: false });
  }
  assert.deepEqual({ here: server.app.typing.typingIn(roomId), there: server.app.typing.typingIn(otherRoom), position: server.app.typing.currentPosition() }, before);
});

test('a very long timeout is capped at 30 s', async () => {
  const asked = Date.now();
  assert.equal((await putTyping(bob, { typing: true, timeout: 3_600_000 })).status, 200);
  const expiresAt = server.app.typing.expiresAt(roomId, bob.userId);
  assert.ok(expiresAt !== undefined, 'bob is typing');
  assert.ok(expiresAt - asked <= 30_000 + 5_000, `typing ends within the cap, not in an hour (${expiresAt - asked} ms)`);
  await putTyping(bob, { typing: false });
  assert.equal(server.app.typing.expiresAt(roomId, bob.userId), undefined);
});

test('leaving (or being kicked) ends one’s typing at once', async () => {
  const start = await syncOnce(server, alice);
  await putTyping(bob, { typing: true, timeout: 20_000 });
  const typing = await syncOnce(server, alice, { since: start.next_batch });
  assert.deepEqual(typingIn(typing, roomId), [bob.userId]);
  await roomPost(server, alice, roomId, 'kick', { user_id: bob.userId });
  const kicked = await syncOnce(server, alice, { since: typing.next_batch });
  assert.deepEqual(typingIn(kicked, roomId), []);
  assert.equal(server.app.typing.expiresAt(roomId, bob.userId), undefined);
  await roomPost(server, bob, roomId, 'join');
});

test('typing is rate-limited per user (429 M_LIMIT_EXCEEDED with retry_after_ms)', async () => {
  const dave = await registerUser(server.url, 'dave');
  await roomPost(server, dave, roomId, 'join');
  let refused: Awaited<ReturnType<typeof putTyping>> | undefined;
  for (let i = 0; i < 60 && !refused; i++) {
    const result = await putTyping(dave, { typing: true, timeout: 5_000 });
    if (result.status !== 200) refused = result;
  }
  assert.ok(refused, 'refused within 60 requests');
  await assertRefusal(refused, { status: 429, errcode: 'M_LIMIT_EXCEEDED', method: 'PUT', path: typingPath(roomId, dave.userId) });
  assert.equal(typeof refused.body.retry_after_ms, 'number');
  await roomPost(server, dave, roomId, 'leave');
});
