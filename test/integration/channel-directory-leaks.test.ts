import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type HttpResult, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { createRoom, putState, roomPost, say, syncOnce } from '../support/rooms.ts';

/**
 * A private channel's name, topic and member count never reach people outside
 * it, by any path: each test asks one of them as an outsider, and checks the
 * answer (success or refusal) carries none of the secrets.
 */
let server: TestServer;
let root: TestUser;
let member: TestUser;
let outsider: TestUser;
let privateChannel: string;
let publicChannel: string;
let space: string;
let nameEventId: string;
let messageId: string;
const SECRET_NAME = 'Acquisition of Initech';
const SECRET_TOPIC = 'Project Bluebird due diligence';
const API = '/_palisade/admin/v1';

before(async () => {
  server = await startTestServer();
  root = await registerUser(server.url, 'root', { admin: true });
  member = await registerUser(server.url, 'member', { displayname: 'Quiet Member' });
  outsider = await registerUser(server.url, 'outsider');
  const create = async (body: unknown) => {
    const created = await request(server.url, 'POST', `${API}/channels`, { token: root.accessToken, body });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    return created.body.room_id as string;
  };
  privateChannel = await create({ name: SECRET_NAME, topic: SECRET_TOPIC, alias_localpart: 'bluebird', policy: { encryption: 'off' } });
  publicChannel = await create({ name: 'Company news', topic: 'for everyone', policy: { visibility: 'public', joining: 'open' } });
  assert.equal((await request(server.url, 'POST', `${API}/channels/${encodeURIComponent(privateChannel)}/members`, { token: root.accessToken, body: { user_id: member.userId, force_join: true } })).status, 200);
  messageId = await say(server, member, privateChannel, 'the numbers');
  const state = await request(server.url, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(privateChannel)}/state`, { token: root.accessToken });
  nameEventId = state.body.find((event: any) => event.type === 'm.room.name').event_id;
  // A public space (anyone may see it) that files both channels.
  space = await createRoom(server, root, { preset: 'public_chat', name: 'Company', creation_content: { type: 'm.space' }, visibility: 'public' });
  for (const roomId of [publicChannel, privateChannel]) {
    assert.equal((await putState(server, root, space, 'm.space.child', roomId, { via: ['localhost'] })).status, 200);
  }
});
after(() => server.stop());

function assertNoSecrets(result: HttpResult, where: string) {
  const text = JSON.stringify(result.body);
  for (const secret of [SECRET_NAME, SECRET_TOPIC, 'Quiet Member', 'the numbers']) assert.ok(!text.includes(secret), `${where} leaks ${secret}: ${text.slice(0, 500)}`);
}
const encoded = () => encodeURIComponent(privateChannel);
const asOutsider = (method: string, path: string, body?: unknown) => request(server.url, method, path, { token: outsider.accessToken, body });

test('publicRooms lists the public channel, never the private one, whatever the search', async () => {
  const listed = await asOutsider('GET', '/_matrix/client/v3/publicRooms');
  assert.equal(listed.status, 200);
  assert.ok(listed.body.chunk.some((entry: any) => entry.room_id === publicChannel));
  assert.ok(!listed.body.chunk.some((entry: any) => entry.room_id === privateChannel));
  assertNoSecrets(listed, 'GET publicRooms');
  for (const term of ['Initech', 'Bluebird', 'bluebird', privateChannel]) {
    const searched = await asOutsider('POST', '/_matrix/client/v3/publicRooms', { filter: { generic_search_term: term } });
    assert.deepEqual([searched.status, searched.body.chunk], [200, []], term);
  }
  const anonymous = await request(server.url, 'GET', '/_matrix/client/v3/publicRooms');
  assertNoSecrets(anonymous, 'anonymous publicRooms');
});

test('the hierarchy of a public space holding a private channel shows the public channel only', async () => {
  const path = `/_matrix/client/v1/rooms/${encodeURIComponent(space)}/hierarchy`;
  const result = await asOutsider('GET', path);
  assert.equal(result.status, 200, JSON.stringify(result.body));
  await assertMatchesSpec({ method: 'GET', path, status: 200, body: result.body });
  assert.deepEqual(result.body.rooms.map((room: any) => room.name), ['Company', 'Company news']);
  assertNoSecrets(result, 'hierarchy');
});

test('the room summary (MSC3266) answers 404 for a private channel, by ID or alias, exactly as for no room at all', async () => {
  const unknown = await asOutsider('GET', `/_matrix/client/v1/room_summary/${encodeURIComponent('!nowhere:localhost')}`);
  for (const target of [privateChannel, '#bluebird:localhost']) {
    for (const result of [await asOutsider('GET', `/_matrix/client/v1/room_summary/${encodeURIComponent(target)}`), await request(server.url, 'GET', `/_matrix/client/v1/room_summary/${encodeURIComponent(target)}`)]) {
      assert.deepEqual([result.status, result.body.errcode], [unknown.status, unknown.body.errcode], target);
      assertNoSecrets(result, `room_summary ${target}`);
    }
  }
  assert.equal((await request(server.url, 'GET', `/_matrix/client/v1/room_summary/${encoded()}`, { token: member.accessToken })).body.name, SECRET_NAME, 'members see it');
});

test('room state, events, members, messages and context are refused to outsiders without a word of what is inside', async () => {
  const paths = [
    `/rooms/${encoded()}/state`,
    `/rooms/${encoded()}/state/m.room.name/`,
    `/rooms/${encoded()}/state/m.room.topic/`,
    `/rooms/${encoded()}/event/${encodeURIComponent(nameEventId)}`,
    `/rooms/${encoded()}/event/${encodeURIComponent(messageId)}`,
    `/rooms/${encoded()}/members`,
    `/rooms/${encoded()}/joined_members`,
    `/rooms/${encoded()}/messages?dir=b`,
    `/rooms/${encoded()}/context/${encodeURIComponent(messageId)}`,
    `/rooms/${encoded()}/relations/${encodeURIComponent(messageId)}`,
    `/rooms/${encoded()}/threads`,
  ];
  for (const path of paths) {
    const full = path.includes('/relations/') || path.endsWith('/threads') ? `/_matrix/client/v1${path}` : `/_matrix/client/v3${path}`;
    const result = await asOutsider('GET', full);
    assert.ok([403, 404].includes(result.status), `${full}: ${result.status} ${JSON.stringify(result.body)}`);
    assertNoSecrets(result, full);
  }
  const searched = await asOutsider('POST', '/_matrix/client/v3/search', { search_categories: { room_events: { search_term: 'numbers' } } });
  assert.equal(searched.status, 200);
  assertNoSecrets(searched, 'search');
});

test('the user directory does not reveal who is in a private channel to outsiders', async () => {
  const byOutsider = await asOutsider('POST', '/_matrix/client/v3/user_directory/search', { search_term: 'quiet' });
  assert.deepEqual([byOutsider.status, byOutsider.body.results], [200, []]);
  const byRoot = await request(server.url, 'POST', '/_matrix/client/v3/user_directory/search', { token: root.accessToken, body: { search_term: 'quiet' } });
  assert.deepEqual(byRoot.body.results.map((user: any) => user.user_id), [member.userId], 'a fellow member finds them');
});

test('knocking, joining (by ID or alias) and publishing are refused to outsiders and reveal nothing', async () => {
  const attempts = [
    await asOutsider('POST', `/_matrix/client/v3/knock/${encoded()}`, { reason: 'let me in' }),
    await asOutsider('POST', `/_matrix/client/v3/knock/${encodeURIComponent('#bluebird:localhost')}`, {}),
    await asOutsider('POST', `/_matrix/client/v3/rooms/${encoded()}/join`, {}),
    await asOutsider('POST', `/_matrix/client/v3/join/${encodeURIComponent('#bluebird:localhost')}`, {}),
    await asOutsider('PUT', `/_matrix/client/v3/directory/list/room/${encoded()}`, { visibility: 'public' }),
    await asOutsider('GET', `${API}/channels/${encoded()}`),
    await asOutsider('GET', `${API}/channels/${encoded()}/members`),
  ];
  for (const result of attempts) {
    assert.equal(result.status, 403, JSON.stringify(result.body));
    assertNoSecrets(result, 'refusal');
  }
  const sync = await syncOnce(server, outsider);
  assert.ok(!JSON.stringify(sync).includes(privateChannel), 'nothing of the channel reaches the outsider in sync');
  const listed = await asOutsider('GET', '/_matrix/client/v3/publicRooms');
  assert.ok(!listed.body.chunk.some((entry: any) => entry.room_id === privateChannel), 'still unpublished');
});

test('a knock channel shows its name to those asking to join (by design: they must know what they ask for), a private one does not', async () => {
  const knockChannel = (await request(server.url, 'POST', `${API}/channels`, { token: root.accessToken, body: { name: 'Ask to join', policy: { joining: 'knock' } } })).body.room_id;
  const since = (await syncOnce(server, outsider)).next_batch;
  assert.equal((await asOutsider('POST', `/_matrix/client/v3/knock/${encodeURIComponent(knockChannel)}`, {})).status, 200);
  const sync = await syncOnce(server, outsider, { since });
  const knockState = sync.rooms.knock[knockChannel].knock_state.events;
  assert.ok(knockState.some((event: any) => event.type === 'm.room.name' && event.content.name === 'Ask to join'));
  assert.ok(!knockState.some((event: any) => event.type === 'm.room.member' && event.state_key !== outsider.userId), 'no other members are listed');
});
