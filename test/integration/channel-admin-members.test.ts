import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type HttpResult, type TestUser } from '../support/http.ts';
import { assertMatchesAdminApi } from '../support/admin-api-schema.ts';
import { putState, roomGet, roomPost, roomSnapshot, say, syncOnce } from '../support/rooms.ts';

let server: TestServer;
let root: TestUser;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let mallory: TestUser;
const API = '/_palisade/admin/v1';

before(async () => {
  server = await startTestServer();
  root = await registerUser(server.url, 'root', { admin: true });
  alice = await registerUser(server.url, 'alice', { displayname: 'Alice A' });
  bob = await registerUser(server.url, 'bob');
  carol = await registerUser(server.url, 'carol');
  mallory = await registerUser(server.url, 'mallory');
});
after(() => server.stop());

/** Calls the admin API and checks every answer (success or error) against docs/admin-api.yaml. */
async function admin(user: TestUser, method: string, path: string, body?: unknown): Promise<HttpResult> {
  const result = await request(server.url, method, `${API}${path}`, { token: user.accessToken, body });
  await assertMatchesAdminApi({ method, path: `${API}${path}`, status: result.status, body: result.body });
  return result;
}
const room = (roomId: string) => `/channels/${encodeURIComponent(roomId)}`;
const member = (roomId: string, userId: string) => `${room(roomId)}/members/${encodeURIComponent(userId)}`;
const adminOf = (roomId: string, userId: string) => `${room(roomId)}/admins/${encodeURIComponent(userId)}`;
const auditRows = async (roomId: string) => server.app.db.selectFrom('channel_audit').selectAll().where('room_id', '=', roomId).orderBy('id').execute();

async function everything(roomId: string) {
  const isPublic = (await server.app.db.selectFrom('rooms').select('is_public').where('room_id', '=', roomId).executeTakeFirst())?.is_public;
  return { room: await roomSnapshot(server, roomId), isPublic, audit: (await auditRows(roomId)).length };
}

function expectError(result: HttpResult, status: number, errcode: string, mentions?: RegExp) {
  assert.deepEqual([result.status, result.body.errcode], [status, errcode], JSON.stringify(result.body));
  if (mentions) assert.match(result.body.error, mentions);
}

/** A channel made by root with alice joined as a second channel admin. */
async function channel(name: string, policy: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<string> {
  const created = await admin(root, 'POST', '/channels', { name, policy, ...extra });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const roomId = created.body.room_id;
  assert.equal((await admin(root, 'POST', `${room(roomId)}/members`, { user_id: alice.userId, force_join: true })).status, 200);
  assert.equal((await admin(root, 'PUT', adminOf(roomId, alice.userId))).status, 200);
  return roomId;
}

test('server admins list, search and page channels; plain rooms only with include_rooms; others are refused', async () => {
  const ids = [];
  for (const [name, topic] of [['Zeta ops', 'deploys'], ['Alpha sales', 'quotes and deals'], ['Mid 100%_match', 'literal wildcards']]) {
    ids.push((await admin(root, 'POST', '/channels', { name, topic, policy: { visibility: 'public', encryption: 'off', joining: 'knock' } })).body.room_id);
  }
  const plainRoom = (await request(server.url, 'POST', '/_matrix/client/v3/createRoom', { token: bob.accessToken, body: { name: 'Alpha plain room' } })).body.room_id;

  const all = await admin(root, 'GET', '/channels?limit=500');
  assert.equal(all.status, 200);
  const names = all.body.channels.map((entry: any) => entry.name);
  assert.ok(!names.includes('Alpha plain room'), 'a room without a channel policy is not a channel');
  assert.deepEqual(names.filter((name: string) => ['Zeta ops', 'Alpha sales', 'Mid 100%_match'].includes(name)), ['Alpha sales', 'Mid 100%_match', 'Zeta ops'], 'ordered by name');
  const sales = all.body.channels.find((entry: any) => entry.name === 'Alpha sales');
  assert.deepEqual([sales.visibility, sales.encryption, sales.joining, sales.joined_members, sales.is_channel], ['public', 'off', 'knock', 1, true]);

  // Search by topic, by name, case-insensitively; % and _ are literal.
  assert.deepEqual((await admin(root, 'GET', '/channels?search=DEALS')).body.channels.map((entry: any) => entry.room_id), [ids[1]]);
  assert.deepEqual((await admin(root, 'GET', '/channels?search=100%25_')).body.channels.map((entry: any) => entry.room_id), [ids[2]]);
  assert.deepEqual((await admin(root, 'GET', '/channels?search=0%25')).body.channels.map((entry: any) => entry.room_id), [ids[2]]);
  const withRooms = await admin(root, 'GET', '/channels?search=alpha&include_rooms=true');
  assert.deepEqual(withRooms.body.channels.map((entry: any) => [entry.room_id, entry.is_channel]), [[plainRoom, false], [ids[1], true]]);

  // Pages: limit and from, next_batch until the end, reversed with dir=b.
  const first = await admin(root, 'GET', '/channels?limit=2');
  assert.equal(first.body.channels.length, 2);
  assert.equal(first.body.next_batch, '2');
  const rest = await admin(root, 'GET', `/channels?limit=500&from=${first.body.next_batch}`);
  assert.equal(rest.body.next_batch, undefined);
  assert.deepEqual([...first.body.channels, ...rest.body.channels].map((entry: any) => entry.room_id), all.body.channels.map((entry: any) => entry.room_id));
  const reversed = await admin(root, 'GET', '/channels?limit=500&dir=b');
  assert.deepEqual(reversed.body.channels.map((entry: any) => entry.room_id), [...all.body.channels].reverse().map((entry: any) => entry.room_id));
  const past = await admin(root, 'GET', '/channels?from=10000');
  assert.deepEqual([past.body.channels, past.body.total], [[], all.body.total]);

  for (const bad of ['limit=0', 'limit=501', 'from=-1', 'order_by=nonsense', 'dir=x', 'include_rooms=yes', `search=${'x'.repeat(201)}`]) {
    expectError(await admin(root, 'GET', `/channels?${bad}`), 400, 'M_INVALID_PARAM');
  }
  expectError(await admin(alice, 'GET', '/channels'), 403, 'M_FORBIDDEN');
});

test('members are listed with membership, display name and power level, filtered and paged; moderators may list, others not', async () => {
  const roomId = await channel('Members');
  assert.equal((await admin(alice, 'POST', `${room(roomId)}/members`, { user_id: bob.userId })).status, 200);
  const listed = await admin(alice, 'GET', `${room(roomId)}/members`);
  assert.equal(listed.status, 200);
  assert.deepEqual(
    listed.body.members.map((entry: any) => [entry.user_id, entry.membership, entry.power_level, entry.displayname]),
    [[root.userId, 'join', 100, 'root'], [alice.userId, 'join', 100, 'Alice A'], [bob.userId, 'invite', 0, 'bob']],
  );
  assert.equal(listed.body.total, 3);
  const invited = await admin(alice, 'GET', `${room(roomId)}/members?membership=invite`);
  assert.deepEqual(invited.body.members.map((entry: any) => entry.user_id), [bob.userId]);
  const page = await admin(alice, 'GET', `${room(roomId)}/members?limit=1&from=1`);
  assert.deepEqual([page.body.members[0].user_id, page.body.next_batch], [alice.userId, '2']);
  expectError(await admin(alice, 'GET', `${room(roomId)}/members?limit=1001`), 400, 'M_INVALID_PARAM');
  expectError(await admin(alice, 'GET', `${room(roomId)}/members?membership=maybe`), 400, 'M_INVALID_PARAM');
  expectError(await admin(bob, 'GET', `${room(roomId)}/members`), 403, 'M_FORBIDDEN');
  expectError(await admin(mallory, 'GET', `${room('!nowhere:localhost')}/members`), 403, 'M_FORBIDDEN');
  expectError(await admin(root, 'GET', `${room('!nowhere:localhost')}/members`), 404, 'M_NOT_FOUND');
});

test('adding a member invites by default; force_join is for server admins and joins at once; refusals change nothing', async () => {
  const roomId = await channel('Adding');
  const since = (await syncOnce(server, bob)).next_batch;
  const invited = await admin(alice, 'POST', `${room(roomId)}/members`, { user_id: bob.userId });
  assert.deepEqual([invited.status, invited.body], [200, { membership: 'invite' }]);
  assert.ok((await syncOnce(server, bob, { since })).rooms.invite[roomId], 'bob sees the invite');

  let before = await everything(roomId);
  expectError(await admin(alice, 'POST', `${room(roomId)}/members`, { user_id: carol.userId, force_join: true }), 403, 'M_FORBIDDEN', /server admin/);
  expectError(await admin(mallory, 'POST', `${room(roomId)}/members`, { user_id: mallory.userId }), 403, 'M_FORBIDDEN');
  expectError(await admin(alice, 'POST', `${room(roomId)}/members`, { user_id: '@nobody:localhost' }), 404, 'M_NOT_FOUND');
  expectError(await admin(alice, 'POST', `${room(roomId)}/members`, { user_id: '@someone:elsewhere.example' }), 403, 'M_FORBIDDEN', /federate/);
  expectError(await admin(alice, 'POST', `${room(roomId)}/members`, { user_id: 'carol' }), 400, 'M_BAD_JSON');
  expectError(await admin(alice, 'POST', `${room(roomId)}/members`, { user_id: carol.userId, extra: 1 }), 400, 'M_BAD_JSON');
  expectError(await admin(alice, 'POST', `${room(roomId)}/members`, { user_id: alice.userId }), 403, 'M_FORBIDDEN', /already in the channel/);
  assert.deepEqual(await everything(roomId), before);

  // A server admin joins carol straight in, and turns bob's pending invite into a join.
  for (const user of [carol, bob]) {
    const joined = await admin(root, 'POST', `${room(roomId)}/members`, { user_id: user.userId, force_join: true });
    assert.deepEqual([joined.status, joined.body], [200, { membership: 'join' }]);
  }
  const joined = (await roomGet(server, carol, roomId, 'joined_members')).body.joined;
  assert.ok(joined[carol.userId] && joined[bob.userId]);
  const actions = (await auditRows(roomId)).slice(-3).map((row) => [row.action, row.actor, (row.before as any).membership, (row.after as any).membership]);
  assert.deepEqual(actions, [
    ['member.invite', alice.userId, null, 'invite'],
    ['member.force_join', root.userId, null, 'join'],
    ['member.force_join', root.userId, 'invite', 'join'],
  ]);
  before = await everything(roomId);
  expectError(await admin(root, 'POST', `${room(roomId)}/members`, { user_id: carol.userId, force_join: true }), 403, 'M_FORBIDDEN', /already/);
  assert.deepEqual(await everything(roomId), before);
});

test('removing a member is a kick with the reason; moderators may, members may not, and the room rules still apply', async () => {
  const roomId = await channel('Removing');
  for (const user of [bob, carol]) await admin(root, 'POST', `${room(roomId)}/members`, { user_id: user.userId, force_join: true });
  const removed = await admin(alice, 'POST', `${member(roomId, bob.userId)}/remove`, { reason: 'left the team' });
  assert.deepEqual([removed.status, removed.body], [200, {}]);
  const kick = await server.app.db.selectFrom('room_memberships').innerJoin('events', 'events.event_id', 'room_memberships.event_id').select(['membership', 'json']).where('room_memberships.room_id', '=', roomId).where('user_id', '=', bob.userId).executeTakeFirstOrThrow();
  assert.deepEqual([kick.membership, kick.json.sender, kick.json.content.reason], ['leave', alice.userId, 'left the team']);
  const entry = (await auditRows(roomId)).at(-1)!;
  assert.deepEqual([entry.action, entry.before, entry.after], ['member.remove', { user_id: bob.userId, membership: 'join' }, { user_id: bob.userId, membership: 'leave', reason: 'left the team' }]);

  const before = await everything(roomId);
  expectError(await admin(alice, 'POST', `${member(roomId, bob.userId)}/remove`, {}), 404, 'M_NOT_FOUND', /not in the channel/);
  expectError(await admin(carol, 'POST', `${member(roomId, alice.userId)}/remove`, {}), 403, 'M_FORBIDDEN');
  expectError(await admin(alice, 'POST', `${member(roomId, root.userId)}/remove`, {}), 403, 'M_FORBIDDEN', /room's rules/);
  expectError(await admin(alice, 'POST', `${member(roomId, alice.userId)}/remove`, {}), 403, 'M_FORBIDDEN', /leave the room/);
  expectError(await admin(alice, 'POST', `${member(roomId, carol.userId)}/remove`, { reason: 'x'.repeat(501) }), 400, 'M_BAD_JSON');
  expectError(await admin(alice, 'POST', `${room(roomId)}/members/not-a-user/remove`, {}), 400, 'M_INVALID_PARAM');
  assert.deepEqual(await everything(roomId), before);

  // A moderator (the kick level) may remove a member.
  const levels = (await roomGet(server, root, roomId, 'state/m.room.power_levels/')).body;
  assert.equal((await putState(server, root, roomId, 'm.room.power_levels', '', { ...levels, users: { ...levels.users, [carol.userId]: 50 } })).status, 200);
  await admin(root, 'POST', `${room(roomId)}/members`, { user_id: bob.userId, force_join: true });
  assert.equal((await admin(carol, 'POST', `${member(roomId, bob.userId)}/remove`, {})).status, 200);
});

test('channel admins: granted to a joined member, revoked by stepping down; never the last one, never another admin at the same level', async () => {
  const roomId = await channel('Admins');
  await admin(root, 'POST', `${room(roomId)}/members`, { user_id: bob.userId, force_join: true });
  const granted = await admin(alice, 'PUT', adminOf(roomId, bob.userId));
  assert.deepEqual([granted.status, granted.body], [200, { power_level: 100 }]);
  assert.equal((await roomGet(server, bob, roomId, 'state/m.room.power_levels/')).body.users[bob.userId], 100);
  assert.equal((await admin(bob, 'GET', room(roomId))).status, 200, 'bob manages the channel now');
  assert.deepEqual((await admin(alice, 'PUT', adminOf(roomId, bob.userId))).body, { power_level: 100 }, 'granting twice changes nothing');

  let before = await everything(roomId);
  expectError(await admin(alice, 'DELETE', adminOf(roomId, bob.userId)), 403, 'M_FORBIDDEN', /room's rules/);
  expectError(await admin(alice, 'PUT', adminOf(roomId, carol.userId)), 404, 'M_NOT_FOUND', /not a joined member/);
  expectError(await admin(mallory, 'PUT', adminOf(roomId, mallory.userId)), 403, 'M_FORBIDDEN');
  expectError(await admin(alice, 'PUT', `${room(roomId)}/admins/nobody`), 400, 'M_INVALID_PARAM');
  assert.deepEqual(await everything(roomId), before);

  const steppedDown = await admin(bob, 'DELETE', adminOf(roomId, bob.userId));
  assert.deepEqual([steppedDown.status, steppedDown.body], [200, { power_level: 0 }]);
  expectError(await admin(bob, 'GET', room(roomId)), 403, 'M_FORBIDDEN');
  const entries = (await auditRows(roomId)).filter((row) => row.action.startsWith('admin.')).map((row) => [row.action, (row.before as any).power_level, (row.after as any).power_level]);
  assert.deepEqual(entries.slice(-2), [['admin.grant', 0, 100], ['admin.revoke', 100, 0]]);

  // With root gone, alice is the last channel admin: she cannot step down.
  assert.equal((await roomPost(server, root, roomId, 'leave')).status, 200);
  before = await everything(roomId);
  expectError(await admin(alice, 'DELETE', adminOf(roomId, alice.userId)), 403, 'M_FORBIDDEN', /last admin/);
  expectError(await admin(root, 'DELETE', adminOf(roomId, alice.userId)), 403, 'M_FORBIDDEN', /last admin/);
  assert.deepEqual(await everything(roomId), before);
});

test('closing a channel: invite only, delisted, everyone out (other admins too), history purged on request, audited', async () => {
  const roomId = await channel('Closing', { visibility: 'public', joining: 'open', encryption: 'off' }, { alias_localpart: 'closing' });
  await admin(root, 'POST', `${room(roomId)}/members`, { user_id: bob.userId, force_join: true });
  await admin(root, 'POST', `${room(roomId)}/members`, { user_id: carol.userId });
  const message = await say(server, bob, roomId, 'secret plans');
  const bobSince = (await syncOnce(server, bob)).next_batch;

  let before = await everything(roomId);
  expectError(await admin(bob, 'POST', `${room(roomId)}/close`, {}), 403, 'M_FORBIDDEN');
  expectError(await admin(alice, 'POST', `${room(roomId)}/close`, { purge: 'yes' }), 400, 'M_BAD_JSON');
  assert.deepEqual(await everything(roomId), before);

  const closed = await admin(alice, 'POST', `${room(roomId)}/close`, { reason: 'project ended', purge: true });
  assert.equal(closed.status, 200, JSON.stringify(closed.body));
  assert.deepEqual(new Set(closed.body.removed), new Set([root.userId, bob.userId, carol.userId, alice.userId]));
  assert.equal(closed.body.removed.at(-1), alice.userId, 'the acting admin leaves last');
  assert.deepEqual(closed.body.failed, []);
  assert.ok(closed.body.purged.deleted >= 1);
  const memberships = await server.app.db.selectFrom('room_memberships').select(['user_id', 'membership']).where('room_id', '=', roomId).execute();
  assert.ok(memberships.every((row) => row.membership === 'leave'), JSON.stringify(memberships));
  const bobSync = await syncOnce(server, bob, { since: bobSince });
  assert.ok(bobSync.rooms.leave[roomId], 'bob is told he is out');
  assert.equal(await server.app.db.selectFrom('events').select('event_id').where('event_id', '=', message).executeTakeFirst(), undefined, 'the message is gone for good');
  const directory = await request(server.url, 'GET', '/_matrix/client/v3/publicRooms', { token: bob.accessToken });
  assert.ok(!directory.body.chunk.some((entry: any) => entry.room_id === roomId), 'delisted');
  const rejoin = await roomPost(server, bob, roomId, 'join');
  expectError(rejoin, 403, 'M_FORBIDDEN');
  const entry = (await admin(root, 'GET', `${room(roomId)}/audit?limit=1`)).body.entries[0];
  assert.deepEqual([entry.action, entry.actor, entry.before.join_rule, entry.before.published, entry.after.join_rule, entry.after.published], ['channel.close', alice.userId, 'public', true, 'invite', false]);
  assert.deepEqual([entry.before.members.length, entry.before.member_count, entry.after.member_count], [4, 4, 0]);

  // Nobody is left to act through: further changes are refused, and nothing changes.
  before = await everything(roomId);
  expectError(await admin(root, 'POST', `${room(roomId)}/close`, {}), 403, 'M_FORBIDDEN', /No local member/);
  assert.deepEqual(await everything(roomId), before);
  expectError(await admin(root, 'POST', `${room('!nowhere:localhost')}/close`, {}), 404, 'M_NOT_FOUND');
});
