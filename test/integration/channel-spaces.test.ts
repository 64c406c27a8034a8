import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type HttpResult, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { createRoom, putState, roomGet, roomPost, roomSnapshot } from '../support/rooms.ts';
import { makeRegistration, writeRegistrationFiles } from '../support/appservice.ts';

let server: TestServer;
let root: TestUser;
let alice: TestUser;
let bob: TestUser;
let outsider: TestUser;
const plain = makeRegistration('plain');
const crypto = makeRegistration('crypto', { 'io.palisade.supports_encryption': true });
const plainBot = '@plain_relay:localhost';
const cryptoBot = '@crypto_relay:localhost';
const API = '/_palisade/admin/v1';
let space: string;

before(async () => {
  server = await startTestServer({ app_service_config_files: writeRegistrationFiles([plain, crypto]) });
  root = await registerUser(server.url, 'root', { admin: true });
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
  outsider = await registerUser(server.url, 'outsider');
  for (const [registration, localpart] of [[plain, 'plain_relay'], [crypto, 'crypto_relay']] as const) {
    const registered = await request(server.url, 'POST', '/_matrix/client/v3/register', { token: registration.as_token, body: { type: 'm.login.application_service', username: localpart, inhibit_login: true } });
    assert.equal(registered.status, 200, JSON.stringify(registered.body));
  }
  // The organisation's team space: invite only, so only its members are "in the team".
  space = await createRoom(server, root, { preset: 'private_chat', name: 'Team', creation_content: { type: 'm.space' } });
  for (const userId of [alice.userId, bob.userId, plainBot, cryptoBot]) {
    assert.equal((await roomPost(server, root, space, 'invite', { user_id: userId })).status, 200);
  }
  for (const user of [alice, bob]) assert.equal((await roomPost(server, user, space, 'join')).status, 200);
  for (const [registration, userId] of [[plain, plainBot], [crypto, cryptoBot]] as const) {
    assert.equal((await asBot(registration, userId, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(space)}/join`)).status, 200);
  }
});
after(() => server.stop());

const asBot = (registration: typeof plain, userId: string, method: string, path: string, body: unknown = {}) =>
  request(server.url, method, `${path}${path.includes('?') ? '&' : '?'}user_id=${encodeURIComponent(userId)}`, { token: registration.as_token, body });

/** A channel made through the admin API whose join rule then becomes "members of the team space". */
async function spaceChannel(name: string, policy: Record<string, unknown>): Promise<string> {
  const created = await request(server.url, 'POST', `${API}/channels`, { token: root.accessToken, body: { name, policy } });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const roomId = created.body.room_id;
  const restricted = { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: space }] };
  assert.equal((await putState(server, root, roomId, 'm.room.join_rules', '', restricted)).status, 200);
  return roomId;
}

async function addChild(roomId: string, content: Record<string, unknown> = {}) {
  assert.equal((await putState(server, root, space, 'm.space.child', roomId, { via: ['localhost'], ...content })).status, 200);
}

function expectForbidden(result: HttpResult, mentions?: RegExp) {
  assert.deepEqual([result.status, result.body.errcode], [403, 'M_FORBIDDEN'], JSON.stringify(result.body));
  if (mentions) assert.match(result.body.error, mentions);
}

test('restricted join: members of the space join without an invite (by ID and by alias); others are refused', async () => {
  const roomId = await spaceChannel('Engineering', { encryption: 'off' });
  assert.equal((await request(server.url, 'PUT', `/_matrix/client/v3/directory/room/${encodeURIComponent('#engineering:localhost')}`, { token: root.accessToken, body: { room_id: roomId } })).status, 200);
  const joined = await roomPost(server, alice, roomId, 'join');
  assert.equal(joined.status, 200, JSON.stringify(joined.body));
  const member = (await roomGet(server, alice, roomId, `state/m.room.member/${encodeURIComponent(alice.userId)}`)).body;
  assert.equal(member.join_authorised_via_users_server, root.userId, 'a resident who may invite vouches for the join');
  const byAlias = await request(server.url, 'POST', `/_matrix/client/v3/join/${encodeURIComponent('#engineering:localhost')}`, { token: bob.accessToken, body: {} });
  assert.equal(byAlias.status, 200, JSON.stringify(byAlias.body));

  const before = await roomSnapshot(server, roomId);
  expectForbidden(await roomPost(server, outsider, roomId, 'join'), /not invited.*nor in any of the rooms/);
  // A hand-made member event naming an authoriser does not skip the allow list.
  const forged = await putState(server, outsider, roomId, 'm.room.member', outsider.userId, { membership: 'join', join_authorised_via_users_server: root.userId });
  expectForbidden(forged, /not in any of the rooms whose members may join/);
  assert.deepEqual(await roomSnapshot(server, roomId), before);

  // Leaving the space closes the door again.
  assert.equal((await roomPost(server, bob, roomId, 'leave')).status, 200);
  assert.equal((await roomPost(server, bob, space, 'leave')).status, 200);
  expectForbidden(await roomPost(server, bob, roomId, 'join'));
  assert.equal((await roomPost(server, root, space, 'invite', { user_id: bob.userId })).status, 200);
  assert.equal((await roomPost(server, bob, space, 'join')).status, 200);
});

test('bot admission still applies to a join through space membership: an encrypted channel refuses a bot without encryption support', async () => {
  const encrypted = await spaceChannel('Secure', { allowed_bots: null });
  const before = await roomSnapshot(server, encrypted);
  const refused = await asBot(plain, plainBot, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(encrypted)}/join`);
  expectForbidden(refused, /requires end-to-end encryption.*application service plain/);
  assert.deepEqual(await roomSnapshot(server, encrypted), before);
  const admitted = await asBot(crypto, cryptoBot, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(encrypted)}/join`);
  assert.equal(admitted.status, 200, JSON.stringify(admitted.body));

  // And a channel's allowed_bots holds against space members too.
  const listed = await spaceChannel('Feeds only', { encryption: 'off', allowed_bots: ['plain'] });
  const notListed = await asBot(crypto, cryptoBot, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(listed)}/join`);
  expectForbidden(notListed, /bot policy does not allow bots of the application service crypto/);
  assert.equal((await asBot(plain, plainBot, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(listed)}/join`)).status, 200);
});

test('the space as a folder of channels: /hierarchy pages through them with the suggested flag, and hides what the caller may not see', async () => {
  const folder = await createRoom(server, root, { preset: 'private_chat', name: 'Folder', creation_content: { type: 'm.space' } });
  for (const user of [alice]) {
    assert.equal((await roomPost(server, root, folder, 'invite', { user_id: user.userId })).status, 200);
    assert.equal((await roomPost(server, user, folder, 'join')).status, 200);
  }
  const restrictedTo = async (name: string) => {
    const roomId = (await request(server.url, 'POST', `${API}/channels`, { token: root.accessToken, body: { name, policy: { encryption: 'off' } } })).body.room_id;
    assert.equal((await putState(server, root, roomId, 'm.room.join_rules', '', { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: folder }] })).status, 200);
    return roomId;
  };
  const general = await restrictedTo('General');
  const random = await restrictedTo('Random');
  const hidden = (await request(server.url, 'POST', `${API}/channels`, { token: root.accessToken, body: { name: 'Board only' } })).body.room_id;
  const announcements = (await request(server.url, 'POST', `${API}/channels`, { token: root.accessToken, body: { name: 'Announcements', policy: { visibility: 'public', joining: 'knock' } } })).body.room_id;
  const child = async (roomId: string, content: Record<string, unknown>) =>
    assert.equal((await putState(server, root, folder, 'm.space.child', roomId, { via: ['localhost'], ...content })).status, 200);
  await child(general, { order: 'a', suggested: true });
  await child(random, { order: 'b' });
  await child(hidden, { order: 'c', suggested: true });
  await child(announcements, { order: 'd' });

  const path = (query: string) => `/_matrix/client/v1/rooms/${encodeURIComponent(folder)}/hierarchy${query}`;
  const get = async (user: TestUser, query = '') => {
    const result = await request(server.url, 'GET', path(query), { token: user.accessToken });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    await assertMatchesSpec({ method: 'GET', path: path(''), status: 200, body: result.body });
    return result.body;
  };
  const names = (body: any) => body.rooms.map((room: any) => room.name);
  // alice (in the folder space) sees the channels she may join; the board's private channel is not there.
  assert.deepEqual(names(await get(alice)), ['Folder', 'General', 'Random', 'Announcements']);
  const suggested = (await get(alice)).rooms[0].children_state.filter((event: any) => event.content.suggested === true).map((event: any) => event.state_key);
  assert.deepEqual(suggested.sort(), [general, hidden].sort(), "children_state carries each child's suggested flag");
  assert.deepEqual(names(await get(alice, '?suggested_only=true')), ['Folder', 'General']);
  const first = await get(alice, '?limit=2');
  assert.deepEqual(names(first), ['Folder', 'General']);
  const second = await get(alice, `?limit=2&from=${encodeURIComponent(first.next_batch)}`);
  assert.deepEqual(names(second), ['Random', 'Announcements']);
  assert.equal(second.next_batch, undefined);
  const generalEntry = (await get(alice)).rooms.find((room: any) => room.room_id === general);
  assert.deepEqual([generalEntry.join_rule, generalEntry.allowed_room_ids], ['restricted', [folder]]);
  // root (in every channel) sees the board's channel too.
  assert.deepEqual(names(await get(root)), ['Folder', 'General', 'Random', 'Board only', 'Announcements']);
});

test('knock_restricted: members of the space join at once, anyone else may ask to join', async () => {
  const created = await request(server.url, 'POST', `${API}/channels`, { token: root.accessToken, body: { name: 'Ask or be in the team', policy: { encryption: 'off' } } });
  const roomId = created.body.room_id;
  const rule = { join_rule: 'knock_restricted', allow: [{ type: 'm.room_membership', room_id: space }] };
  assert.equal((await putState(server, root, roomId, 'm.room.join_rules', '', rule)).status, 200);
  assert.equal((await roomPost(server, alice, roomId, 'join')).status, 200);
  expectForbidden(await roomPost(server, outsider, roomId, 'join'));
  const knocked = await request(server.url, 'POST', `/_matrix/client/v3/knock/${encodeURIComponent(roomId)}`, { token: outsider.accessToken, body: { reason: 'not in the team yet' } });
  assert.equal(knocked.status, 200, JSON.stringify(knocked.body));
  const requests = await request(server.url, 'GET', `${API}/channels/${encodeURIComponent(roomId)}/join_requests`, { token: root.accessToken });
  assert.deepEqual(requests.body.join_requests.map((entry: any) => entry.user_id), [outsider.userId]);
});

test('changing another part of the policy leaves a join rule restricted to the space as it is', async () => {
  const roomId = await spaceChannel('Keeps its space', { encryption: 'off' });
  const changed = await request(server.url, 'PUT', `${API}/channels/${encodeURIComponent(roomId)}/policy`, { token: root.accessToken, body: { link_previews: true, retention_max_age_ms: 86_400_000 } });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  assert.deepEqual([changed.body.policy.joining, changed.body.policy.link_previews], ['invite', true]);
  const rule = (await roomGet(server, root, roomId, 'state/m.room.join_rules/')).body;
  assert.deepEqual(rule, { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: space }] });
  // Asking for a different joining replaces it, as asked.
  assert.equal((await request(server.url, 'PUT', `${API}/channels/${encodeURIComponent(roomId)}/policy`, { token: root.accessToken, body: { joining: 'knock' } })).status, 200);
  assert.deepEqual((await roomGet(server, root, roomId, 'state/m.room.join_rules/')).body, { join_rule: 'knock' });
});
