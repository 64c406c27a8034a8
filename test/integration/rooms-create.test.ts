import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertEventMatchesSpec, assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, roomGet, roomPost } from '../support/rooms.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
});
after(() => server.stop());

const CREATE = '/_matrix/client/v3/createRoom';
const stateOf = async (user: TestUser, roomId: string) => {
  const result = await roomGet(server, user, roomId, 'state');
  assert.equal(result.status, 200, JSON.stringify(result.body));
  await assertMatchesSpec({ method: 'GET', path: `/_matrix/client/v3/rooms/${roomId}/state`, status: 200, body: result.body });
  return new Map<string, any>(result.body.map((event: any) => [`${event.type}|${event.state_key}`, event]));
};
const roomCount = async () => Number((await server.app.db.selectFrom('rooms').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

test('a default room: v11, the creator joined with power 100, private_chat preset, in spec order', async () => {
  const result = await request(server.url, 'POST', CREATE, { token: alice.accessToken, body: { name: 'Ops', topic: 'On call' } });
  assert.equal(result.status, 200);
  await assertMatchesSpec({ method: 'POST', path: CREATE, status: 200, body: result.body });
  const roomId = result.body.room_id;
  assert.match(roomId, /^![^:]+:localhost$/);

  const state = await stateOf(alice, roomId);
  assert.equal(state.get('m.room.create|').content.room_version, '11');
  assert.equal(state.get('m.room.create|').sender, alice.userId);
  assert.equal(state.get(`m.room.member|${alice.userId}`).content.membership, 'join');
  assert.equal(state.get('m.room.power_levels|').content.users[alice.userId], 100);
  assert.equal(state.get('m.room.join_rules|').content.join_rule, 'invite');
  assert.equal(state.get('m.room.history_visibility|').content.history_visibility, 'shared');
  assert.equal(state.get('m.room.guest_access|').content.guest_access, 'can_join');
  assert.equal(state.get('m.room.name|').content.name, 'Ops');
  assert.equal(state.get('m.room.topic|').content.topic, 'On call');
  for (const event of state.values()) await assertEventMatchesSpec(event);

  const messages = await roomGet(server, alice, roomId, 'messages?dir=f&limit=20');
  assert.deepEqual(
    messages.body.chunk.map((event: any) => event.type),
    ['m.room.create', 'm.room.member', 'm.room.power_levels', 'm.room.join_rules', 'm.room.history_visibility', 'm.room.guest_access', 'm.room.name', 'm.room.topic'],
  );
});

test('public_chat, power level override, initial_state over the preset, a space type, room version 10', async () => {
  const roomId = await createRoom(server, alice, {
    preset: 'public_chat',
    room_version: '10',
    creation_content: { type: 'm.space' },
    power_level_content_override: { events_default: 50 },
    initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }, { type: 'org.example.setting', state_key: 'k', content: { on: true } }],
  });
  const state = await stateOf(alice, roomId);
  const create = state.get('m.room.create|').content;
  assert.deepEqual([create.room_version, create.type, create.creator], ['10', 'm.space', alice.userId]);
  assert.equal(state.get('m.room.join_rules|').content.join_rule, 'public');
  assert.equal(state.get('m.room.guest_access|').content.guest_access, 'forbidden');
  assert.equal(state.get('m.room.history_visibility|').content.history_visibility, 'joined');
  assert.equal(state.get('org.example.setting|k').content.on, true);
  const levels = state.get('m.room.power_levels|').content;
  assert.equal(levels.events_default, 50);
  assert.equal(levels.users[alice.userId], 100);
  // Only one history_visibility event: the preset's was replaced, not sent and overwritten.
  const messages = await roomGet(server, alice, roomId, 'messages?dir=f&limit=50&filter=%7B%22types%22%3A%5B%22m.room.history_visibility%22%5D%7D');
  assert.equal(messages.body.chunk.length, 1);
});

test('invites with is_direct; trusted_private_chat makes invitees admins', async () => {
  const roomId = await createRoom(server, alice, { preset: 'trusted_private_chat', invite: [bob.userId], is_direct: true });
  const state = await stateOf(alice, roomId);
  const invite = state.get(`m.room.member|${bob.userId}`);
  assert.equal(invite.content.membership, 'invite');
  assert.equal(invite.content.is_direct, true);
  assert.equal(state.get('m.room.power_levels|').content.users[bob.userId], 100);
});

test('an alias becomes the canonical alias, and one can join by it', async () => {
  const result = await request(server.url, 'POST', CREATE, { token: alice.accessToken, body: { preset: 'public_chat', room_alias_name: 'lobby' } });
  assert.equal(result.body.room_alias, '#lobby:localhost');
  const state = await stateOf(alice, result.body.room_id);
  assert.equal(state.get('m.room.canonical_alias|').content.alias, '#lobby:localhost');
  const joined = await request(server.url, 'POST', `/_matrix/client/v3/join/${encodeURIComponent('#lobby:localhost')}`, { token: bob.accessToken, body: {} });
  assert.equal(joined.status, 200);
  assert.equal(joined.body.room_id, result.body.room_id);
});

test('refusals create nothing', async () => {
  await createRoom(server, alice, { room_alias_name: 'taken' });
  const cases: Array<{ name: string; body: unknown; status: number; errcode: string; messageIncludes?: string }> = [
    { name: 'unsupported room version', body: { room_version: '1' }, status: 400, errcode: 'M_UNSUPPORTED_ROOM_VERSION', messageIncludes: '"1"' },
    { name: 'alias in use', body: { room_alias_name: 'taken' }, status: 400, errcode: 'M_ROOM_IN_USE' },
    { name: 'invalid alias', body: { room_alias_name: 'a:b' }, status: 400, errcode: 'M_INVALID_PARAM' },
    { name: 'unknown invitee', body: { invite: ['@nobody:localhost'] }, status: 404, errcode: 'M_NOT_FOUND' },
    { name: 'name of the wrong type', body: { name: 42 }, status: 400, errcode: 'M_BAD_JSON', messageIncludes: 'name' },
    { name: 'malformed power levels override', body: { power_level_content_override: { users: { [alice.userId]: 'lots' } } }, status: 400, errcode: 'M_BAD_JSON', messageIncludes: 'power level' },
    { name: 'initial_state with a member event', body: { initial_state: [{ type: 'm.room.member', state_key: bob.userId, content: { membership: 'join' } }] }, status: 400, errcode: 'M_INVALID_PARAM' },
  ];
  for (const testCase of cases) {
    const before = await roomCount();
    const result = await request(server.url, 'POST', CREATE, { token: alice.accessToken, body: testCase.body });
    await assertRefusal(result, { method: 'POST', path: CREATE, status: testCase.status, errcode: testCase.errcode, messageIncludes: testCase.messageIncludes, checkSpec: testCase.status !== 404 });
    assert.equal(await roomCount(), before, `${testCase.name}: no room was created`);
  }
  const aliases = await server.app.db.selectFrom('room_aliases').select('room_alias').execute();
  assert.deepEqual(aliases.map((row) => row.room_alias).sort(), ['#lobby:localhost', '#taken:localhost']);
});

test('joining by something that is neither a room ID nor an alias is a clear 400', async () => {
  const result = await roomPost(server, bob, '!unknown:localhost', 'join');
  assert.equal(result.status, 404);
  assert.equal(result.body.errcode, 'M_NOT_FOUND');
  const bad = await request(server.url, 'POST', '/_matrix/client/v3/join/lobby', { token: bob.accessToken, body: {} });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.errcode, 'M_INVALID_PARAM');
});
