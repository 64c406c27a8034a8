import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, roomPost, roomSnapshot, syncOnce } from '../support/rooms.ts';
import { assertEventMatchesSpec, assertMatchesSpec } from '../support/spec-schema.ts';
import { userDataSnapshot } from '../support/user-data.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
});
after(() => server.stop());

const profilePath = (userId: string, field?: string) => `/_matrix/client/v3/profile/${encodeURIComponent(userId)}${field ? `/${field}` : ''}`;

async function call(method: string, path: string, user?: TestUser, body?: unknown) {
  const result = await request(server.url, method, path, { token: user?.accessToken, body });
  if (result.status === 200) await assertMatchesSpec({ method, path, status: 200, body: result.body });
  return result;
}

test('display name and avatar: set, read back (without a token too), and carried to member events in every joined room', async () => {
  const roomA = await createRoom(server, alice);
  const roomB = await createRoom(server, bob, { preset: 'public_chat' });
  await roomPost(server, alice, roomB, 'join');
  const left = await createRoom(server, alice);
  await roomPost(server, alice, left, 'leave');
  const bobStart = await syncOnce(server, bob);

  assert.equal((await call('PUT', profilePath(alice.userId, 'displayname'), alice, { displayname: 'Alice Liddell' })).status, 200);
  assert.equal((await call('PUT', profilePath(alice.userId, 'avatar_url'), alice, { avatar_url: 'mxc://localhost/abcdef' })).status, 200);

  assert.deepEqual((await call('GET', profilePath(alice.userId))).body, { displayname: 'Alice Liddell', avatar_url: 'mxc://localhost/abcdef' });
  assert.deepEqual((await call('GET', profilePath(alice.userId, 'displayname'), bob)).body, { displayname: 'Alice Liddell' });

  for (const roomId of [roomA, roomB]) {
    const member = await request(server.url, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.member/${encodeURIComponent(alice.userId)}`, { token: alice.accessToken });
    assert.deepEqual(member.body, { membership: 'join', displayname: 'Alice Liddell', avatar_url: 'mxc://localhost/abcdef' }, roomId);
  }
  const leftMember = await server.app.db.selectFrom('current_state').innerJoin('events', 'events.event_id', 'current_state.event_id').select('events.json').where('current_state.room_id', '=', left).where('current_state.state_key', '=', alice.userId).executeTakeFirstOrThrow();
  assert.equal((leftMember.json.content as any).membership, 'leave', 'rooms one has left are not touched');

  // Bob shares roomB: the new member events arrive in his sync as ordinary timeline events.
  const bobSees = await syncOnce(server, bob, { since: bobStart.next_batch });
  const updates = bobSees.rooms.join[roomB].timeline.events.filter((event: any) => event.type === 'm.room.member' && event.state_key === alice.userId);
  assert.equal(updates.length, 2);
  assert.equal(updates[1].content.displayname, 'Alice Liddell');
  assert.equal(updates[1].unsigned.prev_content.displayname, updates[0].content.displayname);
  for (const event of updates) await assertEventMatchesSpec({ ...event, room_id: roomB });

  // A room joined later gets the new profile in the join itself.
  const roomC = await createRoom(server, bob, { preset: 'public_chat' });
  await roomPost(server, alice, roomC, 'join');
  const joined = await request(server.url, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomC)}/state/m.room.member/${encodeURIComponent(alice.userId)}`, { token: alice.accessToken });
  assert.equal(joined.body.displayname, 'Alice Liddell');

  // Removing the avatar removes it from the member events as well.
  assert.equal((await call('DELETE', profilePath(alice.userId, 'avatar_url'), alice)).status, 200);
  assert.deepEqual((await call('GET', profilePath(alice.userId))).body, { displayname: 'Alice Liddell' });
  const noAvatar = await request(server.url, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomA)}/state/m.room.member/${encodeURIComponent(alice.userId)}`, { token: alice.accessToken });
  assert.deepEqual(noAvatar.body, { membership: 'join', displayname: 'Alice Liddell' });
  const unset = await call('GET', profilePath(alice.userId, 'avatar_url'));
  await assertRefusal(unset, { status: 404, errcode: 'M_NOT_FOUND', method: 'GET', path: profilePath(alice.userId, 'avatar_url') });
});

test('refusals: someone else’s profile, too long, not an mxc URI, unknown fields and users change nothing', async () => {
  const roomId = await createRoom(server, bob);
  const before = { data: await userDataSnapshot(server), room: await roomSnapshot(server, roomId) };
  const cases = [
    { user: alice, method: 'PUT', path: profilePath(bob.userId, 'displayname'), body: { displayname: 'Not Bob' }, status: 403, errcode: 'M_FORBIDDEN' },
    { user: alice, method: 'DELETE', path: profilePath(bob.userId, 'displayname'), status: 403, errcode: 'M_FORBIDDEN' },
    { user: bob, method: 'PUT', path: profilePath(bob.userId, 'displayname'), body: { displayname: 'b'.repeat(257) }, status: 400, errcode: 'M_INVALID_PARAM' },
    { user: bob, method: 'PUT', path: profilePath(bob.userId, 'avatar_url'), body: { avatar_url: 'https://example.org/me.png' }, status: 400, errcode: 'M_INVALID_PARAM' },
    { user: bob, method: 'PUT', path: profilePath(bob.userId, 'avatar_url'), body: { avatar_url: `mxc://localhost/${'a'.repeat(1000)}` }, status: 400, errcode: 'M_INVALID_PARAM' },
    { user: bob, method: 'PUT', path: profilePath(bob.userId, 'displayname'), body: { avatar_url: 'mxc://localhost/x' }, status: 400, errcode: 'M_MISSING_PARAM' },
    { user: bob, method: 'PUT', path: profilePath(bob.userId, 'displayname'), body: { displayname: 42 }, status: 400, errcode: 'M_BAD_JSON' },
    { user: bob, method: 'PUT', path: profilePath(bob.userId, 'org.example.pronouns'), body: { 'org.example.pronouns': 'he' }, status: 400, errcode: 'M_INVALID_PARAM' },
    { user: undefined, method: 'PUT', path: profilePath(bob.userId, 'displayname'), body: { displayname: 'anonymous' }, status: 401, errcode: 'M_MISSING_TOKEN' },
    { user: bob, method: 'GET', path: profilePath('@nobody:localhost'), status: 404, errcode: 'M_NOT_FOUND' },
  ];
  for (const refusal of cases) {
    const result = await request(server.url, refusal.method, refusal.path, { token: refusal.user?.accessToken, body: refusal.body });
    await assertRefusal(result, { ...refusal, checkSpec: refusal.status === 403 || refusal.status === 404 });
  }
  assert.deepEqual({ data: await userDataSnapshot(server), room: await roomSnapshot(server, roomId) }, before);
});
