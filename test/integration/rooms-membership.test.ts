import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, putState, roomGet, roomPost, roomSnapshot, say, sendMessage } from '../support/rooms.ts';

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

const path = (roomId: string, rest: string) => `/_matrix/client/v3/rooms/${roomId}/${rest}`;
const membershipOf = async (roomId: string, userId: string) => {
  const result = await roomGet(server, alice, roomId, `state/m.room.member/${encodeURIComponent(userId)}`);
  return result.status === 200 ? result.body.membership : undefined;
};

/**
 * Expects a refusal and that the room is exactly as before. The spec documents
 * only 200 and 400 for sending, though servers refuse a non-member with 403, so
 * those cases skip the spec check (`checkSpec: false`).
 */
async function refused(roomId: string, attempt: () => Promise<any>, expected: { status: number; errcode: string; method: string; path: string; messageIncludes?: string; checkSpec?: boolean }) {
  const before = await roomSnapshot(server, roomId);
  await assertRefusal(await attempt(), expected);
  assert.deepEqual(await roomSnapshot(server, roomId), before, `${expected.method} ${expected.path} changed the room`);
}

test('join a public room, list joined rooms and members, leave', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  const joined = await roomPost(server, bob, roomId, 'join');
  assert.equal(joined.status, 200);
  await assertMatchesSpec({ method: 'POST', path: path(roomId, 'join'), status: 200, body: joined.body });

  const rooms = await request(server.url, 'GET', '/_matrix/client/v3/joined_rooms', { token: bob.accessToken });
  await assertMatchesSpec({ method: 'GET', path: '/_matrix/client/v3/joined_rooms', status: 200, body: rooms.body });
  assert.deepEqual(rooms.body.joined_rooms, [roomId]);

  const members = await roomGet(server, bob, roomId, 'members');
  await assertMatchesSpec({ method: 'GET', path: path(roomId, 'members'), status: 200, body: members.body });
  assert.deepEqual(members.body.chunk.map((event: any) => event.state_key).sort(), [alice.userId, bob.userId]);
  const joinedMembers = await roomGet(server, bob, roomId, 'joined_members');
  await assertMatchesSpec({ method: 'GET', path: path(roomId, 'joined_members'), status: 200, body: joinedMembers.body });
  assert.deepEqual(Object.keys(joinedMembers.body.joined).sort(), [alice.userId, bob.userId]);

  const left = await roomPost(server, bob, roomId, 'leave');
  assert.equal(left.status, 200);
  await assertMatchesSpec({ method: 'POST', path: path(roomId, 'leave'), status: 200, body: left.body });
  assert.equal(await membershipOf(roomId, bob.userId), 'leave');
  const onlyJoined = await roomGet(server, alice, roomId, 'members?membership=join');
  assert.deepEqual(onlyJoined.body.chunk.map((event: any) => event.state_key), [alice.userId]);
});

test('an invite-only room: refused without an invite, joined with one', async () => {
  const roomId = await createRoom(server, alice);
  await refused(roomId, () => roomPost(server, bob, roomId, 'join'), { status: 403, errcode: 'M_FORBIDDEN', method: 'POST', path: path(roomId, 'join') });
  const invited = await roomPost(server, alice, roomId, 'invite', { user_id: bob.userId, reason: 'welcome' });
  assert.equal(invited.status, 200);
  await assertMatchesSpec({ method: 'POST', path: path(roomId, 'invite'), status: 200, body: invited.body });
  assert.equal(await membershipOf(roomId, bob.userId), 'invite');
  assert.equal((await roomPost(server, bob, roomId, 'join')).status, 200);
  assert.equal(await membershipOf(roomId, bob.userId), 'join');
});

test('sending into a room one has left is refused and changes nothing', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
  await say(server, bob, roomId, 'hi');
  await roomPost(server, bob, roomId, 'leave');
  await refused(roomId, () => sendMessage(server, bob, roomId), { status: 403, errcode: 'M_FORBIDDEN', method: 'PUT', path: path(roomId, 'send/m.room.message/x'), messageIncludes: 'not in the room', checkSpec: false });
  const before = await roomSnapshot(server, roomId);
  assert.equal((await roomPost(server, bob, roomId, 'leave')).status, 200, 'leaving again succeeds');
  assert.deepEqual(await roomSnapshot(server, roomId), before, 'and sends nothing');
});

test('kick: refused for an under-powered member, allowed for the admin', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
  await roomPost(server, carol, roomId, 'join');
  await refused(roomId, () => roomPost(server, bob, roomId, 'kick', { user_id: carol.userId }), {
    status: 403, errcode: 'M_FORBIDDEN', method: 'POST', path: path(roomId, 'kick'), messageIncludes: 'power level',
  });
  const kicked = await roomPost(server, alice, roomId, 'kick', { user_id: carol.userId, reason: 'spam' });
  assert.equal(kicked.status, 200);
  await assertMatchesSpec({ method: 'POST', path: path(roomId, 'kick'), status: 200, body: kicked.body });
  const member = await roomGet(server, alice, roomId, `state/m.room.member/${encodeURIComponent(carol.userId)}`);
  assert.deepEqual(member.body, { membership: 'leave', reason: 'spam' });
  await refused(roomId, () => roomPost(server, alice, roomId, 'kick', { user_id: carol.userId }), { status: 403, errcode: 'M_FORBIDDEN', method: 'POST', path: path(roomId, 'kick') });
});

test('ban keeps a user out until unbanned', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, carol, roomId, 'join');
  const banned = await roomPost(server, alice, roomId, 'ban', { user_id: carol.userId, reason: 'abuse' });
  assert.equal(banned.status, 200);
  await assertMatchesSpec({ method: 'POST', path: path(roomId, 'ban'), status: 200, body: banned.body });
  assert.equal(await membershipOf(roomId, carol.userId), 'ban');
  await refused(roomId, () => roomPost(server, carol, roomId, 'join'), { status: 403, errcode: 'M_FORBIDDEN', method: 'POST', path: path(roomId, 'join'), messageIncludes: 'banned' });
  await refused(roomId, () => roomPost(server, bob, roomId, 'unban', { user_id: carol.userId }), { status: 403, errcode: 'M_FORBIDDEN', method: 'POST', path: path(roomId, 'unban') });
  const unbanned = await roomPost(server, alice, roomId, 'unban', { user_id: carol.userId });
  assert.equal(unbanned.status, 200);
  await assertMatchesSpec({ method: 'POST', path: path(roomId, 'unban'), status: 200, body: unbanned.body });
  assert.equal((await roomPost(server, carol, roomId, 'join')).status, 200);
});

test('forget: only after leaving; a forgotten room is no longer readable', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
  await refused(roomId, () => roomPost(server, bob, roomId, 'forget'), { status: 400, errcode: 'M_UNKNOWN', method: 'POST', path: path(roomId, 'forget'), messageIncludes: 'leave' });
  await roomPost(server, bob, roomId, 'leave');
  assert.equal((await roomGet(server, bob, roomId, 'messages?dir=b')).status, 200, 'a former member reads up to the leave');
  const forgot = await roomPost(server, bob, roomId, 'forget');
  assert.equal(forgot.status, 200);
  await assertMatchesSpec({ method: 'POST', path: path(roomId, 'forget'), status: 200, body: forgot.body });
  assert.equal((await roomGet(server, bob, roomId, 'messages?dir=b')).status, 403);
});

test('invite refusals: unknown user, other servers, malformed IDs, already joined', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
  const invite = (userId: unknown) => roomPost(server, alice, roomId, 'invite', { user_id: userId });
  const expected = { method: 'POST', path: path(roomId, 'invite') };
  await refused(roomId, () => invite('@ghost:localhost'), { ...expected, status: 404, errcode: 'M_NOT_FOUND', checkSpec: false });
  await refused(roomId, () => invite('@someone:elsewhere.example'), { ...expected, status: 403, errcode: 'M_FORBIDDEN', messageIncludes: 'federate' });
  await refused(roomId, () => invite('not-a-user'), { ...expected, status: 400, errcode: 'M_BAD_JSON', messageIncludes: 'user_id' });
  await refused(roomId, () => invite(bob.userId), { ...expected, status: 403, errcode: 'M_FORBIDDEN', messageIncludes: 'already' });
});

test('state: raising one\'s own power level is refused', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
  const levels = (await roomGet(server, bob, roomId, 'state/m.room.power_levels/')).body;
  const raised = { ...levels, users: { ...levels.users, [bob.userId]: 100 } };
  await refused(roomId, () => putState(server, bob, roomId, 'm.room.power_levels', '', raised), {
    status: 403, errcode: 'M_FORBIDDEN', method: 'PUT', path: path(roomId, 'state/m.room.power_levels/'),
  });
  await refused(roomId, () => putState(server, bob, roomId, 'm.room.name', '', { name: 'mine' }), {
    status: 403, errcode: 'M_FORBIDDEN', method: 'PUT', path: path(roomId, 'state/m.room.name/'), messageIncludes: 'power level',
  });
});
