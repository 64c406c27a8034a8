import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, roomGet, roomPost, roomSnapshot, syncOnce } from '../support/rooms.ts';

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

const knock = (user: TestUser, roomIdOrAlias: string, reason?: string) =>
  request(server.url, 'POST', `/_matrix/client/v3/knock/${encodeURIComponent(roomIdOrAlias)}`, { token: user.accessToken, body: reason ? { reason } : {} });
const membershipOf = async (roomId: string, userId: string) => (await roomGet(server, alice, roomId, `state/m.room.member/${encodeURIComponent(userId)}`)).body.membership;

test('a knock is seen by the room and the knocker; an invite approves it, a kick denies it', async () => {
  const roomId = await createRoom(server, alice, { name: 'Knockable', room_alias_name: 'knockable', initial_state: [{ type: 'm.room.join_rules', content: { join_rule: 'knock' } }] });
  const aliceStart = await syncOnce(server, alice);
  const bobStart = await syncOnce(server, bob);

  const knocked = await knock(bob, '#knockable:localhost', 'let me in');
  assert.equal(knocked.status, 200);
  await assertMatchesSpec({ method: 'POST', path: '/_matrix/client/v3/knock/%23knockable%3Alocalhost', status: 200, body: knocked.body });
  assert.equal(knocked.body.room_id, roomId);

  const bobSync = await syncOnce(server, bob, { since: bobStart.next_batch });
  const knockState = bobSync.rooms.knock[roomId].knock_state.events;
  assert.ok(knockState.some((event: any) => event.type === 'm.room.name' && event.content.name === 'Knockable'));
  assert.ok(knockState.some((event: any) => event.type === 'm.room.member' && event.content.membership === 'knock'));
  const aliceSync = await syncOnce(server, alice, { since: aliceStart.next_batch });
  const seen = aliceSync.rooms.join[roomId].timeline.events.find((event: any) => event.state_key === bob.userId);
  assert.deepEqual([seen.content.membership, seen.content.reason], ['knock', 'let me in']);

  assert.equal((await roomPost(server, alice, roomId, 'invite', { user_id: bob.userId })).status, 200, 'approve');
  assert.equal((await roomPost(server, bob, roomId, 'join')).status, 200);
  assert.equal(await membershipOf(roomId, bob.userId), 'join');

  assert.equal((await knock(carol, roomId)).status, 200);
  assert.equal((await roomPost(server, alice, roomId, 'kick', { user_id: carol.userId, reason: 'not now' })).status, 200, 'deny');
  assert.equal(await membershipOf(roomId, carol.userId), 'leave');
});

test('knocking where the join rule does not allow it is refused and changes nothing', async () => {
  const roomId = await createRoom(server, alice);
  const before = await roomSnapshot(server, roomId);
  await assertRefusal(await knock(carol, roomId), { method: 'POST', path: `/_matrix/client/v3/knock/${roomId}`, status: 403, errcode: 'M_FORBIDDEN' });
  assert.deepEqual(await roomSnapshot(server, roomId), before);
  await assertRefusal(await knock(carol, '#nowhere:localhost'), { method: 'POST', path: '/_matrix/client/v3/knock/%23nowhere%3Alocalhost', status: 404, errcode: 'M_NOT_FOUND' });
});
