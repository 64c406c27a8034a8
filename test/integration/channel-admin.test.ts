import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type HttpResult, type TestUser } from '../support/http.ts';
import { assertMatchesAdminApi } from '../support/admin-api-schema.ts';
import { createRoom, putState, roomGet, roomPost, roomSnapshot, syncOnce } from '../support/rooms.ts';
import { makeRegistration, writeRegistrationFiles } from '../support/appservice.ts';
import { sql } from 'kysely';

let server: TestServer;
let root: TestUser;
let alice: TestUser;
let mallory: TestUser;
const feeds = makeRegistration('feeds');
const relay = makeRegistration('relay', { 'io.palisade.supports_encryption': true });
const API = '/_palisade/admin/v1';

before(async () => {
  server = await startTestServer({ app_service_config_files: writeRegistrationFiles([feeds, relay]) });
  root = await registerUser(server.url, 'root', { admin: true });
  alice = await registerUser(server.url, 'alice');
  mallory = await registerUser(server.url, 'mallory');
  for (const [registration, localpart] of [[feeds, 'feeds_rss'], [relay, 'relay_one']] as const) {
    const registered = await request(server.url, 'POST', '/_matrix/client/v3/register', { token: registration.as_token, body: { type: 'm.login.application_service', username: localpart, inhibit_login: true } });
    assert.equal(registered.status, 200);
  }
});
after(() => server.stop());

/** Calls the admin API and checks every answer (success or error) against docs/admin-api.yaml. */
async function admin(user: TestUser, method: string, path: string, body?: unknown): Promise<HttpResult> {
  const result = await request(server.url, method, `${API}${path}`, { token: user.accessToken, body });
  await assertMatchesAdminApi({ method, path: `${API}${path}`, status: result.status, body: result.body });
  return result;
}
const room = (roomId: string) => `/channels/${encodeURIComponent(roomId)}`;
const stateOf = async (user: TestUser, roomId: string, type: string) => (await roomGet(server, user, roomId, `state/${type}/`)).body;
const auditCount = async () => Number((await server.app.db.selectFrom('channel_audit').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

async function everything(roomId: string) {
  const policyRow = await server.app.db.selectFrom('channel_policies').selectAll().where('room_id', '=', roomId).executeTakeFirst();
  const isPublic = (await server.app.db.selectFrom('rooms').select('is_public').where('room_id', '=', roomId).executeTakeFirst())?.is_public;
  return { room: await roomSnapshot(server, roomId), policyRow, isPublic, audit: await auditCount() };
}

async function expectForbidden(result: HttpResult, mentions?: RegExp) {
  assert.deepEqual([result.status, result.body.errcode], [403, 'M_FORBIDDEN'], JSON.stringify(result.body));
  if (mentions) assert.match(result.body.error, mentions);
}

/** A channel made by root through the API, with alice as a second channel admin. */
async function channel(policy: Record<string, unknown> = {}): Promise<string> {
  const created = await admin(root, 'POST', '/channels', { name: 'Ops', topic: 'operations', policy });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const roomId = created.body.room_id;
  assert.equal((await roomPost(server, root, roomId, 'invite', { user_id: alice.userId })).status, 200);
  assert.equal((await roomPost(server, alice, roomId, 'join')).status, 200);
  const levels = await stateOf(root, roomId, 'm.room.power_levels');
  assert.equal((await putState(server, root, roomId, 'm.room.power_levels', '', { ...levels, users: { ...levels.users, [alice.userId]: 100 } })).status, 200);
  return roomId;
}

test('a server admin creates a channel; its policy is published as the room state clients read, and audited', async () => {
  const created = await admin(root, 'POST', '/channels', {
    name: 'Announcements',
    alias_localpart: 'announcements',
    policy: { visibility: 'public', joining: 'knock', retention_max_age_ms: 86_400_000, allowed_bots: ['relay'] },
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const roomId = created.body.room_id;
  assert.deepEqual(created.body.policy, { visibility: 'public', encryption: 'required', joining: 'knock', link_previews: false, retention_max_age_ms: 86_400_000, allowed_bots: ['relay'] });
  assert.equal((await stateOf(root, roomId, 'm.room.join_rules')).join_rule, 'knock');
  assert.equal((await stateOf(root, roomId, 'm.room.encryption')).algorithm, 'm.megolm.v1.aes-sha2');
  assert.deepEqual(await stateOf(root, roomId, 'org.matrix.room.preview_urls'), { disable: true });
  assert.deepEqual(await stateOf(root, roomId, 'm.room.retention'), { max_lifetime: 86_400_000 });
  const directory = await request(server.url, 'GET', '/_matrix/client/v3/publicRooms', { token: alice.accessToken });
  assert.ok(directory.body.chunk.some((entry: any) => entry.room_id === roomId), 'a public channel is in the directory');

  const read = await admin(root, 'GET', room(roomId));
  assert.equal(read.status, 200);
  assert.deepEqual([read.body.name, read.body.canonical_alias, read.body.joined_members, read.body.creator], ['Announcements', '#announcements:localhost', 1, root.userId]);
  const auditLog = await admin(root, 'GET', `${room(roomId)}/audit`);
  assert.deepEqual(auditLog.body.entries.map((entry: any) => [entry.actor, entry.action, entry.before]), [[root.userId, 'channel.create', null]]);
  assert.deepEqual(auditLog.body.entries[0].after, created.body.policy);
});

test('a channel admin changes the policy; clients see it in sync, and the audit log keeps before and after', async () => {
  const roomId = await channel({ encryption: 'off' });
  const since = (await syncOnce(server, alice)).next_batch;
  const changed = await admin(alice, 'PUT', `${room(roomId)}/policy`, { link_previews: true, joining: 'open', retention_max_age_ms: 3_600_000, encryption: 'required' });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  assert.deepEqual(changed.body.policy, { visibility: 'private', encryption: 'required', joining: 'open', link_previews: true, retention_max_age_ms: 3_600_000, allowed_bots: [] });

  const sync = await syncOnce(server, alice, { since });
  const timeline = sync.rooms.join[roomId].timeline.events;
  const published = (type: string) => timeline.find((event: any) => event.type === type)?.content;
  assert.deepEqual(published('org.matrix.room.preview_urls'), { disable: false });
  assert.deepEqual(published('m.room.join_rules'), { join_rule: 'public' });
  assert.deepEqual(published('m.room.retention'), { max_lifetime: 3_600_000 });
  assert.equal(published('m.room.encryption').algorithm, 'm.megolm.v1.aes-sha2');
  assert.ok(timeline.filter((event: any) => event.type !== 'm.room.member').every((event: any) => event.sender === alice.userId), 'sent as the channel admin who asked');

  const entry = (await admin(alice, 'GET', `${room(roomId)}/audit?limit=1`)).body.entries[0];
  assert.deepEqual([entry.actor, entry.action, entry.before.link_previews, entry.after.link_previews, entry.before.encryption, entry.after.encryption], [alice.userId, 'policy.change', false, true, 'off', 'required']);

  // Keeping forever again publishes MSC1763's "no maximum".
  assert.equal((await admin(alice, 'PUT', `${room(roomId)}/policy`, { retention_max_age_ms: null })).status, 200);
  assert.deepEqual(await stateOf(alice, roomId, 'm.room.retention'), {});
});

test('encryption can never be switched off through the admin API; the refusal names the policy and changes nothing', async () => {
  const roomId = await channel();
  const before = await everything(roomId);
  await expectForbidden(await admin(root, 'PUT', `${room(roomId)}/policy`, { encryption: 'off' }), /requires end-to-end encryption.*never be switched off/);
  // Nor can a plain room whose state has m.room.encryption (however it got there).
  const plain = await createRoom(server, alice, { initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }] });
  await expectForbidden(await admin(alice, 'PUT', `${room(plain)}/policy`, { encryption: 'off', link_previews: true }), /never be switched off/);
  assert.deepEqual(await everything(roomId), before);
  assert.equal(await stateOf(alice, plain, 'org.matrix.room.preview_urls').then((content) => content.errcode), 'M_NOT_FOUND', 'nothing of the refused change was applied');
});

test('non-admins are refused everywhere with M_FORBIDDEN, whether or not the channel exists, and nothing changes', async () => {
  const roomId = await channel();
  // mallory joins as an ordinary member (level 0) of a now-open channel.
  assert.equal((await admin(root, 'PUT', `${room(roomId)}/policy`, { joining: 'open' })).status, 200);
  assert.equal((await roomPost(server, mallory, roomId, 'join')).status, 200);
  const before = await everything(roomId);
  await expectForbidden(await admin(mallory, 'POST', '/channels', { name: 'mine' }));
  await expectForbidden(await admin(mallory, 'GET', room(roomId)));
  await expectForbidden(await admin(mallory, 'PUT', `${room(roomId)}/policy`, { link_previews: true }));
  await expectForbidden(await admin(mallory, 'GET', `${room(roomId)}/audit`));
  await expectForbidden(await admin(mallory, 'GET', `${room(roomId)}/join_requests`));
  await expectForbidden(await admin(mallory, 'POST', `${room(roomId)}/join_requests/${encodeURIComponent(alice.userId)}/deny`, {}));
  await expectForbidden(await admin(mallory, 'GET', room('!nowhere:localhost')), /channel admin/);
  assert.deepEqual(await everything(roomId), before);
  // And the policy's state cannot be changed around the API by someone without the power.
  const sneaky = await putState(server, mallory, roomId, 'org.matrix.room.preview_urls', '', { disable: false });
  assert.equal(sneaky.status, 403);
  assert.deepEqual(await everything(roomId), before);
  // A server admin gets a plain 404 for a room that does not exist.
  assert.equal((await admin(root, 'GET', room('!nowhere:localhost'))).status, 404);
});

test('moderators may not change the policy, through the API or through Matrix state', async () => {
  const roomId = await channel({ joining: 'open' });
  assert.equal((await roomPost(server, mallory, roomId, 'join')).status, 200);
  const levels = await stateOf(root, roomId, 'm.room.power_levels');
  assert.equal((await putState(server, root, roomId, 'm.room.power_levels', '', { ...levels, users: { ...levels.users, [mallory.userId]: 50 } })).status, 200);
  const before = await everything(roomId);
  await expectForbidden(await admin(mallory, 'PUT', `${room(roomId)}/policy`, { link_previews: true }), /channel admin/);
  for (const [type, content] of [['org.matrix.room.preview_urls', { disable: false }], ['m.room.retention', { max_lifetime: 1000 }], ['m.room.join_rules', { join_rule: 'invite' }]] as const) {
    assert.equal((await putState(server, mallory, roomId, type, '', content)).status, 403, type);
  }
  assert.deepEqual(await everything(roomId), before);
});

test('a server admin outside the channel changes it through a local channel admin; the audit log names the server admin', async () => {
  const roomId = await channel();
  assert.equal((await roomPost(server, root, roomId, 'leave')).status, 200);
  const changed = await admin(root, 'PUT', `${room(roomId)}/policy`, { link_previews: true });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  const state = await roomGet(server, alice, roomId, 'state');
  assert.equal(state.body.find((event: any) => event.type === 'org.matrix.room.preview_urls').sender, alice.userId);
  const entry = (await admin(alice, 'GET', `${room(roomId)}/audit`)).body.entries[0];
  assert.deepEqual([entry.actor, entry.action], [root.userId, 'policy.change']);
});

test('allowed bots: only bots of listed appservices may be invited or join; unknown ids and exclusions of present bots are refused', async () => {
  const roomId = await channel({ encryption: 'off', allowed_bots: ['relay'] });
  let before = await roomSnapshot(server, roomId);
  const refused = await roomPost(server, alice, roomId, 'invite', { user_id: '@feeds_rss:localhost' });
  await expectForbidden(refused, /bot policy does not allow bots of the application service feeds/);
  assert.deepEqual(await roomSnapshot(server, roomId), before);
  assert.equal((await roomPost(server, alice, roomId, 'invite', { user_id: '@relay_one:localhost' })).status, 200, 'a listed bot is admitted');

  const unknown = await admin(alice, 'PUT', `${room(roomId)}/policy`, { allowed_bots: ['relay', 'nosuchbot'] });
  assert.deepEqual([unknown.status, unknown.body.errcode], [400, 'M_INVALID_PARAM']);
  assert.match(unknown.body.error, /nosuchbot/);
  const state = await everything(roomId);
  await expectForbidden(await admin(alice, 'PUT', `${room(roomId)}/policy`, { allowed_bots: ['feeds'] }), /@relay_one:localhost/);
  assert.deepEqual(await everything(roomId), state);

  // Opening to any bot lets the other appservice in while the channel is unencrypted.
  assert.equal((await admin(alice, 'PUT', `${room(roomId)}/policy`, { allowed_bots: null })).status, 200);
  assert.equal((await roomPost(server, alice, roomId, 'invite', { user_id: '@feeds_rss:localhost' })).status, 200);
  // Now encryption cannot go on while that bot (no encryption support) is invited.
  before = await everything(roomId);
  await expectForbidden(await admin(alice, 'PUT', `${room(roomId)}/policy`, { encryption: 'required' }), /@feeds_rss:localhost/);
  assert.deepEqual(await everything(roomId), before);
});

test('join requests: a moderator sees pending knocks, approves one (invite) and denies another (kick with the reason)', async () => {
  const roomId = await channel({ joining: 'knock', visibility: 'public' });
  const bob = await registerUser(server.url, 'bob');
  const carol = await registerUser(server.url, 'carol');
  const knock = (user: TestUser, reason: string) => request(server.url, 'POST', `/_matrix/client/v3/knock/${encodeURIComponent(roomId)}`, { token: user.accessToken, body: { reason } });
  assert.equal((await knock(bob, 'I run the build servers')).status, 200);
  assert.equal((await knock(carol, 'hi')).status, 200);

  const pending = await admin(alice, 'GET', `${room(roomId)}/join_requests`);
  assert.deepEqual(pending.body.join_requests.map((entry: any) => [entry.user_id, entry.reason]), [[bob.userId, 'I run the build servers'], [carol.userId, 'hi']]);

  const bobSince = (await syncOnce(server, bob)).next_batch;
  assert.equal((await admin(alice, 'POST', `${room(roomId)}/join_requests/${encodeURIComponent(bob.userId)}/approve`, {})).status, 200);
  const bobSync = await syncOnce(server, bob, { since: bobSince });
  assert.ok(bobSync.rooms.invite[roomId], 'the requester is told: an invite');
  assert.equal((await roomPost(server, bob, roomId, 'join')).status, 200);

  assert.equal((await admin(alice, 'POST', `${room(roomId)}/join_requests/${encodeURIComponent(carol.userId)}/deny`, { reason: 'not this quarter' })).status, 200);
  const carolMember = await server.app.db.selectFrom('room_memberships').innerJoin('events', 'events.event_id', 'room_memberships.event_id').select(['membership', 'json']).where('room_memberships.room_id', '=', roomId).where('user_id', '=', carol.userId).executeTakeFirstOrThrow();
  assert.deepEqual([carolMember.membership, carolMember.json.content.reason], ['leave', 'not this quarter']);
  assert.deepEqual((await admin(alice, 'GET', `${room(roomId)}/join_requests`)).body.join_requests, []);

  // No pending request: 404, nothing changes.
  const before = await everything(roomId);
  const none = await admin(alice, 'POST', `${room(roomId)}/join_requests/${encodeURIComponent(carol.userId)}/approve`, {});
  assert.deepEqual([none.status, none.body.errcode], [404, 'M_NOT_FOUND']);
  assert.deepEqual(await everything(roomId), before);
  const actions = (await admin(root, 'GET', `${room(roomId)}/audit`)).body.entries.map((entry: any) => [entry.action, entry.after.user_id ?? null]);
  assert.deepEqual(actions.slice(0, 2), [['join_request.deny', carol.userId], ['join_request.approve', bob.userId]]);
});

test('the OpenAPI document is served as JSON and is the one in the repository', async () => {
  const served = await request(server.url, 'GET', `${API}/openapi.json`);
  assert.equal(served.status, 200);
  assert.equal(served.body.openapi, '3.1.0');
  assert.ok(served.body.paths['/channels/{roomId}/policy'].put);
});

test('a power-level change that lets moderators touch m.room.encryption still cannot drop or weaken encryption', async () => {
  const roomId = await channel({ joining: 'open' });
  assert.equal((await roomPost(server, mallory, roomId, 'join')).status, 200);
  const levels = await stateOf(root, roomId, 'm.room.power_levels');
  const lowered = { ...levels, users: { ...levels.users, [mallory.userId]: 50 }, events: { ...levels.events, 'm.room.encryption': 50 } };
  assert.equal((await putState(server, root, roomId, 'm.room.power_levels', '', lowered)).status, 200);
  const before = await everything(roomId);
  for (const content of [{}, { algorithm: 'none' }]) {
    const result = await putState(server, mallory, roomId, 'm.room.encryption', '', content);
    await expectForbidden(result, /requires end-to-end encryption/);
  }
  await expectForbidden(await admin(mallory, 'PUT', `${room(roomId)}/policy`, { encryption: 'off' }));
  assert.deepEqual(await everything(roomId), before);
});

test('the migrated channel tables have exactly the columns their table types declare', async () => {
  const declared: Record<string, string[]> = {
    channel_policies: ['allowed_bots', 'room_id', 'updated_ts'],
    channel_audit: ['action', 'actor', 'after', 'before', 'created_ts', 'id', 'room_id'],
  };
  for (const [table, columns] of Object.entries(declared)) {
    const { rows } = await sql<{ column_name: string }>`SELECT column_name FROM information_schema.columns WHERE table_name = ${table} ORDER BY column_name`.execute(server.app.db);
    assert.deepEqual(rows.map((row) => row.column_name), columns, table);
  }
});

test('the audit log pages back with next_before, newest first', async () => {
  const roomId = await channel({ encryption: 'off' });
  for (const link_previews of [true, false, true]) assert.equal((await admin(root, 'PUT', `${room(roomId)}/policy`, { link_previews })).status, 200);
  const first = await admin(root, 'GET', `${room(roomId)}/audit?limit=2`);
  assert.deepEqual(first.body.entries.map((entry: any) => entry.after.link_previews), [true, false]);
  const second = await admin(root, 'GET', `${room(roomId)}/audit?limit=2&before=${first.body.next_before}`);
  assert.deepEqual(second.body.entries.map((entry: any) => entry.action), ['policy.change', 'channel.create']);
  const bad = await admin(root, 'GET', `${room(roomId)}/audit?limit=100000`);
  assert.equal(bad.status, 400);
});
