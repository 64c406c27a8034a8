import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertEventMatchesSpec, assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, putState, roomGet, roomPost, roomSnapshot, sendMessage } from '../support/rooms.ts';
import { accountDataPath, putAccountData, userRequest } from '../support/user-data.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let mallory: TestUser;
let stranger: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
  mallory = await registerUser(server.url, 'mallory');
  stranger = await registerUser(server.url, 'stranger');
});
after(() => server.stop());

const path = (roomId: string, rest: string) => `/_matrix/client/v3/rooms/${roomId}/${rest}`;
const upgrade = (user: TestUser, roomId: string, body: unknown) => request(server.url, 'POST', path(encodeURIComponent(roomId), 'upgrade'), { token: user.accessToken, body });
const stateContent = async (user: TestUser, roomId: string, type: string, stateKey = '') => {
  const result = await roomGet(server, user, roomId, `state/${type}/${encodeURIComponent(stateKey)}`);
  return result.status === 200 ? result.body : undefined;
};

test('upgrade: a tombstone in the old room, a new room with its predecessor and the old room\'s state, bans, aliases and listing', async () => {
  const oldRoom = await createRoom(server, alice, {
    room_version: '10',
    preset: 'public_chat',
    visibility: 'public',
    name: 'Ops',
    topic: 'Operations',
    room_alias_name: 'ops',
    creation_content: { type: 'org.example.kind' },
    initial_state: [{ type: 'm.room.encryption', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
    power_level_content_override: { users: { [alice.userId]: 100, [bob.userId]: 50 }, events: { 'm.room.tombstone': 100, 'm.room.topic': 50 } },
  });
  await roomPost(server, bob, oldRoom, 'join');
  await roomPost(server, mallory, oldRoom, 'join');
  await roomPost(server, alice, oldRoom, 'ban', { user_id: mallory.userId, reason: 'spam' });
  // The room is encrypted, so its messages are ciphertext (the server refuses plaintext there).
  const ciphertext = { algorithm: 'm.megolm.v1.aes-sha2', sender_key: 'a2V5', ciphertext: 'AwgA', session_id: 'c2Vz', device_id: 'ALICE' };
  const lastSent = await sendMessage(server, alice, oldRoom, ciphertext, 'moving-on', 'm.room.encrypted');
  assert.equal(lastSent.status, 200, JSON.stringify(lastSent.body));
  const lastBefore = lastSent.body.event_id as string;

  const result = await upgrade(alice, oldRoom, { new_version: '11' });
  assert.equal(result.status, 200, JSON.stringify(result.body));
  await assertMatchesSpec({ method: 'POST', path: path(oldRoom, 'upgrade'), status: 200, body: result.body });
  const newRoom = result.body.replacement_room as string;
  assert.notEqual(newRoom, oldRoom);

  const tombstone = await roomGet(server, bob, oldRoom, 'state/m.room.tombstone/?format=event');
  assert.equal(tombstone.body.content.replacement_room, newRoom);
  assert.equal(tombstone.body.sender, alice.userId);
  await assertEventMatchesSpec(tombstone.body);

  const create = await roomGet(server, alice, newRoom, 'state/m.room.create/?format=event');
  await assertEventMatchesSpec(create.body);
  assert.equal(create.body.content.room_version, '11');
  assert.deepEqual(create.body.content.predecessor, { room_id: oldRoom, event_id: lastBefore });
  // Both rooms' heads moved to their newest event: what is sent next follows it, in a linear DAG.
  for (const roomId of [oldRoom, newRoom]) {
    const next = await sendMessage(server, alice, roomId, ciphertext, `after-upgrade-${roomId}`, 'm.room.encrypted');
    assert.equal(next.status, 200, JSON.stringify(next.body));
    const rows = await server.app.db.selectFrom('events').select(['event_id', 'json', 'depth']).where('room_id', '=', roomId).orderBy('stream_ordering').execute();
    for (let i = 1; i < rows.length; i++) {
      assert.deepEqual(rows[i].json.prev_events, [rows[i - 1].event_id], `${roomId}: event ${i} follows event ${i - 1}`);
      assert.equal(rows[i].depth, rows[i - 1].depth + 1);
    }
  }
  assert.equal(create.body.content.type, 'org.example.kind', 'creation content such as the room type is kept');
  assert.equal(create.body.content.creator, undefined, 'v11 has no creator field');
  assert.equal((await stateContent(alice, newRoom, 'm.room.name')).name, 'Ops');
  assert.equal((await stateContent(alice, newRoom, 'm.room.topic')).topic, 'Operations');
  assert.equal((await stateContent(alice, newRoom, 'm.room.join_rules')).join_rule, 'public');
  assert.equal((await stateContent(alice, newRoom, 'm.room.encryption')).algorithm, 'm.megolm.v1.aes-sha2');
  assert.equal((await stateContent(alice, newRoom, 'm.room.canonical_alias')).alias, '#ops:localhost');
  const levels = await stateContent(alice, newRoom, 'm.room.power_levels');
  assert.equal(levels.users[bob.userId], 50);
  assert.equal(levels.events['m.room.tombstone'], 100);
  assert.equal((await stateContent(alice, newRoom, 'm.room.member', mallory.userId)).membership, 'ban', 'bans carry over');
  assert.equal((await stateContent(alice, newRoom, 'm.room.member', bob.userId)), undefined, 'members are not moved: they follow the tombstone');

  const alias = await request(server.url, 'GET', `/_matrix/client/v3/directory/room/${encodeURIComponent('#ops:localhost')}`);
  assert.equal(alias.body.room_id, newRoom, 'local aliases point at the new room');
  const listed = await request(server.url, 'GET', `/_matrix/client/v3/directory/list/room/${encodeURIComponent(newRoom)}`);
  assert.equal(listed.body.visibility, 'public');
  assert.equal((await request(server.url, 'GET', `/_matrix/client/v3/directory/list/room/${encodeURIComponent(oldRoom)}`)).body.visibility, 'private');

  // The old room is restricted: ordinary members can no longer speak or invite there.
  const oldLevels = await stateContent(alice, oldRoom, 'm.room.power_levels');
  assert.ok(oldLevels.events_default >= 50 && oldLevels.invite >= 50);
  const blocked = await sendMessage(server, stranger, oldRoom, ciphertext, 'stranger-after', 'm.room.encrypted');
  assert.equal(blocked.status, 403);
  assert.match(blocked.body.error, /Refused by the room's rules/);
  assert.equal((await sendMessage(server, bob, oldRoom, ciphertext, 'bob-after', 'm.room.encrypted')).status, 200, 'bob is a moderator');
  assert.equal((await roomPost(server, bob, newRoom, 'join')).status, 200, 'members join the new room');
});

test('upgrade refusals: under-powered, not a member, unsupported or missing version; nothing changes', async () => {
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  await roomPost(server, bob, roomId, 'join');
  const roomsBefore = await server.app.db.selectFrom('rooms').select('room_id').execute();
  const cases: Array<[TestUser, unknown, number, string]> = [
    [bob, { new_version: '11' }, 403, 'M_FORBIDDEN'],
    [stranger, { new_version: '11' }, 403, 'M_FORBIDDEN'],
    [alice, { new_version: '9' }, 400, 'M_UNSUPPORTED_ROOM_VERSION'],
    [alice, { new_version: 11 }, 400, 'M_BAD_JSON'],
    [alice, {}, 400, 'M_MISSING_PARAM'],
  ];
  for (const [user, body, status, errcode] of cases) {
    const before = await roomSnapshot(server, roomId);
    await assertRefusal(await upgrade(user, roomId, body), { method: 'POST', path: path(roomId, 'upgrade'), status, errcode, checkSpec: status === 400 });
    assert.deepEqual(await roomSnapshot(server, roomId), before, `${JSON.stringify(body)} by ${user.userId} changed the room`);
  }
  assert.deepEqual(await server.app.db.selectFrom('rooms').select('room_id').execute(), roomsBefore, 'no replacement room was left behind');
  await assertRefusal(await upgrade(alice, '!unknown:localhost', { new_version: '11' }), { method: 'POST', path: path('!unknown:localhost', 'upgrade'), status: 404, errcode: 'M_NOT_FOUND', checkSpec: false });

  // An upgrader who may tombstone but not set power levels in the old room still upgrades; the copy raises then restores their level.
  const delegated = await createRoom(server, alice, { preset: 'public_chat', power_level_content_override: { users: { [alice.userId]: 100, [bob.userId]: 60 }, events: { 'm.room.tombstone': 60, 'm.room.power_levels': 100 } } });
  await roomPost(server, bob, delegated, 'join');
  await putState(server, alice, delegated, 'm.room.name', '', { name: 'Delegated' });
  const byBob = await upgrade(bob, delegated, { new_version: '11' });
  assert.equal(byBob.status, 200, JSON.stringify(byBob.body));
  const replacement = byBob.body.replacement_room;
  assert.equal((await stateContent(bob, replacement, 'm.room.power_levels')).users[bob.userId], 60, 'the level bob had, after the copy');
  assert.equal((await stateContent(bob, replacement, 'm.room.name')).name, 'Delegated');
  assert.equal((await stateContent(bob, delegated, 'm.room.power_levels')).events_default ?? 0, 0, 'bob could not restrict the old room; the upgrade went ahead');
});

test('upgrade carries the users’ tags, DM entries and room push rules, the space links and the channel policy', async () => {
  const dave = await registerUser(server.url, 'dave');
  const oldRoom = await createRoom(server, alice, { preset: 'public_chat', name: 'Linked' });
  assert.equal((await roomPost(server, dave, oldRoom, 'join')).status, 200);
  const space = await createRoom(server, alice, { preset: 'public_chat', creation_content: { type: 'm.space' } });
  const foreignSpace = await createRoom(server, mallory, { preset: 'public_chat', creation_content: { type: 'm.space' } });
  for (const [user, spaceId] of [[alice, space], [mallory, foreignSpace]] as const) {
    assert.equal((await putState(server, user, spaceId, 'm.space.child', oldRoom, { via: ['localhost'], suggested: true, order: 'b' })).status, 200);
  }
  assert.equal((await putState(server, alice, oldRoom, 'm.space.parent', space, { via: ['localhost'], canonical: true })).status, 200);
  assert.equal((await putState(server, alice, oldRoom, 'org.matrix.room.preview_urls', '', { disable: false })).status, 200);
  assert.equal((await putState(server, alice, oldRoom, 'm.room.retention', '', { max_lifetime: 86_400_000 })).status, 200);
  await server.app.db.insertInto('channel_policies').values({ room_id: oldRoom, allowed_bots: JSON.stringify(['feeds']), updated_ts: 1 } as any).execute();

  for (const user of [alice, dave]) await putAccountData(server, user, 'm.tag', { tags: { 'm.favourite': { order: 0.25 } } }, oldRoom);
  await putAccountData(server, alice, 'm.direct', { [dave.userId]: [oldRoom] });
  const pushRule = (user: TestUser, kind: string, ruleId: string, body: unknown) =>
    request(server.url, 'PUT', `/_matrix/client/v3/pushrules/global/${kind}/${encodeURIComponent(ruleId)}`, { token: user.accessToken, body });
  assert.equal((await pushRule(alice, 'room', oldRoom, { actions: [] })).status, 200);
  assert.equal((await pushRule(alice, 'override', `quiet-${oldRoom}`, { actions: [], conditions: [{ kind: 'event_match', key: 'room_id', pattern: oldRoom }] })).status, 200);

  const result = await upgrade(alice, oldRoom, { new_version: '11' });
  assert.equal(result.status, 200, JSON.stringify(result.body));
  const newRoom = result.body.replacement_room as string;

  // The policy kept in state and in the channel row.
  assert.deepEqual(await stateContent(alice, newRoom, 'org.matrix.room.preview_urls'), { disable: false });
  assert.deepEqual(await stateContent(alice, newRoom, 'm.room.retention'), { max_lifetime: 86_400_000 });
  const policy = await server.app.db.selectFrom('channel_policies').select('allowed_bots').where('room_id', '=', newRoom).executeTakeFirst();
  assert.deepEqual(policy?.allowed_bots, ['feeds']);

  // Space links: the parent is copied; the space alice runs lists the new room instead; mallory's space is not hers to change.
  assert.deepEqual(await stateContent(alice, newRoom, 'm.space.parent', space), { via: ['localhost'], canonical: true });
  assert.deepEqual(await stateContent(alice, space, 'm.space.child', newRoom), { via: ['localhost'], suggested: true, order: 'b' });
  assert.deepEqual(await stateContent(alice, space, 'm.space.child', oldRoom), {});
  assert.deepEqual(await stateContent(mallory, foreignSpace, 'm.space.child', oldRoom), { via: ['localhost'], suggested: true, order: 'b' });
  assert.equal(await stateContent(mallory, foreignSpace, 'm.space.child', newRoom), undefined);

  // The upgrader's own data follows at once.
  const accountData = async (user: TestUser, type: string, roomId?: string) => (await userRequest(server, user, 'GET', accountDataPath(user.userId, type, roomId))).body;
  assert.deepEqual(await accountData(alice, 'm.tag', newRoom), { tags: { 'm.favourite': { order: 0.25 } } });
  assert.deepEqual(await accountData(alice, 'm.direct'), { [dave.userId]: [oldRoom, newRoom] });
  const rules = (await request(server.url, 'GET', '/_matrix/client/v3/pushrules/', { token: alice.accessToken })).body.global;
  assert.ok(rules.room.some((rule: any) => rule.rule_id === newRoom && rule.actions.length === 0), 'the room rule is copied');
  const override = rules.override.find((rule: any) => rule.rule_id === `quiet-${newRoom}`);
  assert.deepEqual(override?.conditions, [{ kind: 'event_match', key: 'room_id', pattern: newRoom }]);
  assert.ok(rules.override.some((rule: any) => rule.rule_id === `quiet-${oldRoom}`), 'the old rule stays');

  // Others' data follows when they join the new room, and only theirs.
  assert.equal((await userRequest(server, dave, 'GET', accountDataPath(dave.userId, 'm.tag', newRoom))).status, 404);
  assert.equal((await roomPost(server, dave, newRoom, 'join')).status, 200);
  assert.deepEqual(await accountData(dave, 'm.tag', newRoom), { tags: { 'm.favourite': { order: 0.25 } } });
  assert.equal((await userRequest(server, dave, 'GET', accountDataPath(dave.userId, 'm.direct'))).status, 404, 'dave had no DM entry to carry');
  assert.equal((await roomPost(server, stranger, newRoom, 'join')).status, 200);
  assert.equal((await userRequest(server, stranger, 'GET', accountDataPath(stranger.userId, 'm.tag', newRoom))).status, 404, 'a newcomer gets nothing');
});
