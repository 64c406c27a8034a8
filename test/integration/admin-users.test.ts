import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type HttpResult, type TestUser } from '../support/http.ts';
import { assertMatchesAdminApi } from '../support/admin-api-schema.ts';
import { snapshotTables } from '../support/db-snapshot.ts';
import { createRoom, roomGet, roomPost } from '../support/rooms.ts';
import { assertTableColumns } from '../support/table-columns.ts';
import type { AdminAuditTable } from '../../server/storage/tables/admin-audit.ts';

let server: TestServer;
let root: TestUser;
let mallory: TestUser;
const API = '/_palisade/admin/v1';
const LOGIN = '/_matrix/client/v3/login';
const WHOAMI = '/_matrix/client/v3/account/whoami';

before(async () => {
  server = await startTestServer();
  root = await registerUser(server.url, 'root', { admin: true });
  mallory = await registerUser(server.url, 'mallory');
});
after(() => server.stop());

/** Calls the admin API and checks every answer (success or error) against docs/admin-api.yaml. */
async function admin(user: TestUser | null, method: string, path: string, body?: unknown): Promise<HttpResult> {
  const result = await request(server.url, method, `${API}${path}`, { token: user?.accessToken, body });
  await assertMatchesAdminApi({ method, path: `${API}${path}`, status: result.status, body: result.body });
  return result;
}
const user = (userId: string) => `/users/${encodeURIComponent(userId)}`;
const login = (localpart: string, password: string, deviceId?: string) =>
  request(server.url, 'POST', LOGIN, { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: localpart }, password, device_id: deviceId } });
const whoamiStatus = async (token: string) => (await request(server.url, 'GET', WHOAMI, { token })).status;
const auditOf = async (target: string) => (await admin(root, 'GET', `/audit?target=${encodeURIComponent(target)}`)).body.entries;
/** What a refused request must leave alone: accounts and the audit log. */
const everything = async () => ({
  accounts: await snapshotTables(server.app.db, ['users', 'devices', 'access_tokens']),
  audit: await server.app.db.selectFrom('admin_audit').select('id').orderBy('id').execute(),
});

function expectError(result: HttpResult, status: number, errcode: string, mentions?: RegExp) {
  assert.deepEqual([result.status, result.body.errcode], [status, errcode], JSON.stringify(result.body));
  if (mentions) assert.match(result.body.error, mentions);
}

test('every user route refuses non-admins with 403 M_FORBIDDEN and anonymous callers with 401, changing nothing', async () => {
  const target = await registerUser(server.url, 'target');
  const calls: Array<[string, string, unknown?]> = [
    ['GET', '/users'],
    ['POST', '/users', { localpart: 'sneaky', password: 'pw' }],
    ['GET', user(target.userId)],
    ['POST', `${user(target.userId)}/deactivate`, {}],
    ['POST', `${user(target.userId)}/password`, { new_password: 'owned' }],
    ['PUT', `${user(mallory.userId)}/admin`, { admin: true }],
    ['GET', `${user(target.userId)}/devices`],
    ['POST', `${user(target.userId)}/logout`, {}],
    ['GET', '/audit'],
  ];
  const before = await everything();
  for (const [method, path, body] of calls) {
    expectError(await admin(mallory, method, path, body), 403, 'M_FORBIDDEN', /server admin/);
    expectError(await admin(null, method, path, body), 401, 'M_MISSING_TOKEN');
  }
  assert.deepEqual(await everything(), before);
  assert.equal(await whoamiStatus(target.accessToken), 200);
});

test('a server admin creates a user who can then log in; the audit entry names who, what and when, never the password', async () => {
  const created = await admin(root, 'POST', '/users', { localpart: 'carol', password: 'carol-secret', displayname: 'Carol Danvers', admin: false });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  assert.equal(created.body.user_id, '@carol:localhost');
  assert.equal(created.body.displayname, 'Carol Danvers');
  assert.equal(created.body.admin, false);
  assert.equal(created.body.deactivated, false);
  assert.equal(created.body.last_seen_ts, null, 'no device yet');
  assert.equal((await login('carol', 'carol-secret')).status, 200);

  const read = await admin(root, 'GET', user('@carol:localhost'));
  assert.equal(read.status, 200);
  assert.equal(typeof read.body.last_seen_ts, 'number', 'the login made a device');

  const [entry] = await auditOf('@carol:localhost');
  assert.equal(entry.action, 'user.create');
  assert.equal(entry.actor, root.userId);
  assert.equal(entry.target_type, 'user');
  assert.equal(entry.before, null);
  assert.deepEqual(entry.after, { admin: false, displayname: 'Carol Danvers', avatar_url: null, password_set: true });
  assert.ok(Math.abs(entry.ts - Date.now()) < 60_000);
  assert.ok(!JSON.stringify(entry).includes('carol-secret'));

  const made = await admin(root, 'POST', '/users', { localpart: 'boss', password: 'boss-secret', admin: true });
  assert.equal(made.body.admin, true);
  const boss = (await login('boss', 'boss-secret')).body.access_token;
  assert.equal((await request(server.url, 'GET', `${API}/users`, { token: boss })).status, 200, 'a new admin can use the admin API');
});

test('creating a user refuses bad input with the right errcode and creates nothing', async () => {
  const before = await everything();
  const cases: Array<[unknown, number, string]> = [
    [{ localpart: 'root', password: 'x' }, 400, 'M_USER_IN_USE'],
    [{ localpart: 'Not Valid', password: 'x' }, 400, 'M_INVALID_USERNAME'],
    [{ localpart: 'nopass' }, 400, 'M_MISSING_PARAM'],
    [{ localpart: 'emptypass', password: '' }, 400, 'M_BAD_JSON'],
    [{ localpart: 'longpass', password: 'x'.repeat(513) }, 400, 'M_BAD_JSON'],
    [{ localpart: 'x'.repeat(256), password: 'x' }, 400, 'M_BAD_JSON'],
    [{ localpart: 'longname', password: 'x', displayname: 'd'.repeat(257) }, 400, 'M_BAD_JSON'],
    [{ localpart: 'badavatar', password: 'x', avatar_url: 'https://example.com/a.png' }, 400, 'M_INVALID_PARAM'],
    [{ localpart: 'extra', password: 'x', is_god: true }, 400, 'M_BAD_JSON'],
    [{ localpart: 'wrongtype', password: 'x', admin: 'yes' }, 400, 'M_BAD_JSON'],
  ];
  for (const [body, status, errcode] of cases) expectError(await admin(root, 'POST', '/users', body), status, errcode);
  const accounts = await everything();
  // The bad-avatar case is refused only after the account exists (the avatar is checked when set):
  // it must not stay behind.
  assert.deepEqual(accounts, before);
});

test('users list: search by ID or display name, page with next_from, deactivated only on request, bounded inputs', async () => {
  for (const [localpart, displayname] of [['lista', 'Zebra One'], ['listb', 'zebra two'], ['listc', 'Other'], ['per%cent', 'Literal']] as const) {
    assert.equal((await admin(root, 'POST', '/users', { localpart: localpart.replace('%', ''), password: 'pw', displayname })).status, 200);
  }
  const byName = await admin(root, 'GET', '/users?search=ZEBRA');
  assert.deepEqual(byName.body.users.map((u: any) => u.user_id), ['@lista:localhost', '@listb:localhost']);
  assert.equal(byName.body.total, 2);
  assert.equal(byName.body.next_from, undefined);
  const byId = await admin(root, 'GET', '/users?search=listc');
  assert.deepEqual(byId.body.users.map((u: any) => u.user_id), ['@listc:localhost']);
  assert.equal((await admin(root, 'GET', '/users?search=%25')).body.total, 0, '% is a literal character, not a wildcard');

  const seen: string[] = [];
  let from: string | undefined;
  let total = 0;
  do {
    const page = await admin(root, 'GET', `/users?limit=2${from ? `&from=${encodeURIComponent(from)}` : ''}`);
    assert.equal(page.status, 200);
    assert.ok(page.body.users.length <= 2);
    seen.push(...page.body.users.map((u: any) => u.user_id));
    total = page.body.total;
    from = page.body.next_from;
  } while (from);
  assert.equal(seen.length, total);
  assert.deepEqual(seen, [...seen].sort(), 'ordered by user ID, no repeats across pages');
  assert.equal(new Set(seen).size, seen.length);

  assert.equal((await admin(root, 'POST', `${user('@listc:localhost')}/deactivate`, {})).status, 200);
  assert.equal((await admin(root, 'GET', '/users?search=listc')).body.total, 0);
  const withDeactivated = await admin(root, 'GET', '/users?search=listc&deactivated=true');
  assert.equal(withDeactivated.body.users[0].deactivated, true);
  const admins = await admin(root, 'GET', '/users?admins=true');
  assert.ok(admins.body.users.every((u: any) => u.admin) && admins.body.users.some((u: any) => u.user_id === root.userId));

  for (const query of ['limit=0', 'limit=1001', 'limit=ten', `search=${'s'.repeat(256)}`, 'deactivated=maybe', 'from=bm90LWEtdXNlcg', `from=${'f'.repeat(1025)}`]) {
    expectError(await admin(root, 'GET', `/users?${query}`), 400, 'M_INVALID_PARAM');
  }
});

test('deactivation logs the user out everywhere, leaves their rooms and is audited; unknown users are 404 and admins cannot deactivate themselves', async () => {
  const dave = await registerUser(server.url, 'dave');
  const owner = await registerUser(server.url, 'owner');
  const joined = await createRoom(server, owner, { preset: 'public_chat' });
  const invited = await createRoom(server, owner, { preset: 'private_chat' });
  assert.equal((await roomPost(server, dave, joined, 'join')).status, 200);
  assert.equal((await roomPost(server, owner, invited, 'invite', { user_id: dave.userId })).status, 200);

  const result = await admin(root, 'POST', `${user(dave.userId)}/deactivate`, { erase: false });
  assert.equal(result.status, 200, JSON.stringify(result.body));
  assert.equal(result.body.deactivated, true);
  assert.equal(await whoamiStatus(dave.accessToken), 401);
  expectError(await login('dave', dave.password), 403, 'M_USER_DEACTIVATED');
  for (const roomId of [joined, invited]) {
    const member = await roomGet(server, owner, roomId, `state/m.room.member/${encodeURIComponent(dave.userId)}`);
    assert.equal(member.body.membership, 'leave', `left ${roomId}`);
  }
  const [entry] = await auditOf(dave.userId);
  assert.equal(entry.action, 'user.deactivate');
  assert.deepEqual(entry.before, { deactivated: false, displayname: 'dave', avatar_url: null });
  assert.deepEqual({ ...entry.after, left_rooms: [...entry.after.left_rooms].sort() }, { deactivated: true, erase: false, left_rooms: [joined, invited].sort() });

  const again = await admin(root, 'POST', `${user(dave.userId)}/deactivate`, {});
  assert.equal(again.status, 200, 'deactivating twice is not an error');
  assert.equal((await auditOf(dave.userId)).length, 1, 'and changes nothing');

  const erin = await registerUser(server.url, 'erin', { displayname: 'Erin' });
  const erased = await admin(root, 'POST', `${user(erin.userId)}/deactivate`, { erase: true });
  assert.deepEqual([erased.body.displayname, erased.body.avatar_url], [null, null]);

  const before = await everything();
  expectError(await admin(root, 'POST', `${user(root.userId)}/deactivate`, {}), 403, 'M_FORBIDDEN', /your own account/);
  expectError(await admin(root, 'POST', `${user('@nobody:localhost')}/deactivate`, {}), 404, 'M_NOT_FOUND');
  expectError(await admin(root, 'POST', `${user('not-a-user')}/deactivate`, {}), 400, 'M_INVALID_PARAM');
  expectError(await admin(root, 'POST', `${user(mallory.userId)}/deactivate`, { erase: 'yes' }), 400, 'M_BAD_JSON');
  expectError(await admin(root, 'GET', user('@nobody:localhost')), 404, 'M_NOT_FOUND');
  assert.deepEqual(await everything(), before);
  assert.equal(await whoamiStatus(root.accessToken), 200);
});

test('password reset: every device logged out by default, or none; audited without the password', async () => {
  const frank = await registerUser(server.url, 'frank');
  const phone = (await login('frank', frank.password, 'PHONE')).body.access_token;
  const reset = await admin(root, 'POST', `${user(frank.userId)}/password`, { new_password: 'frank-new' });
  assert.equal(reset.status, 200, JSON.stringify(reset.body));
  assert.deepEqual([...reset.body.logged_out_devices].sort(), [frank.deviceId, 'PHONE'].sort());
  assert.equal(await whoamiStatus(frank.accessToken), 401);
  assert.equal(await whoamiStatus(phone), 401);
  assert.equal((await login('frank', frank.password)).status, 403, 'the old password no longer works');
  const fresh = (await login('frank', 'frank-new')).body.access_token;

  const keep = await admin(root, 'POST', `${user(frank.userId)}/password`, { new_password: 'frank-newer', logout_devices: false });
  assert.deepEqual(keep.body.logged_out_devices, []);
  assert.equal(await whoamiStatus(fresh), 200);
  assert.equal((await login('frank', 'frank-newer')).status, 200);
  const entries = await auditOf(frank.userId);
  assert.deepEqual(entries.map((e: any) => [e.action, e.after.logout_devices]), [['user.password_reset', false], ['user.password_reset', true]]);
  assert.ok(!JSON.stringify(entries).includes('frank-new'));

  const before = await everything();
  expectError(await admin(root, 'POST', `${user(frank.userId)}/password`, {}), 400, 'M_MISSING_PARAM');
  expectError(await admin(root, 'POST', `${user(frank.userId)}/password`, { new_password: '' }), 400, 'M_BAD_JSON');
  expectError(await admin(root, 'POST', `${user(frank.userId)}/password`, { new_password: 'x'.repeat(513) }), 400, 'M_BAD_JSON');
  expectError(await admin(root, 'POST', `${user('@nobody:localhost')}/password`, { new_password: 'x' }), 404, 'M_NOT_FOUND');
  expectError(await admin(root, 'POST', `${user('@listc:localhost')}/password`, { new_password: 'x' }), 400, 'M_INVALID_PARAM', /deactivated/);
  assert.deepEqual(await everything(), before);
});

test('granting and revoking server admin takes effect at once; an admin cannot revoke their own', async () => {
  const gina = await registerUser(server.url, 'gina');
  expectError(await admin(gina, 'GET', '/users'), 403, 'M_FORBIDDEN');
  const granted = await admin(root, 'PUT', `${user(gina.userId)}/admin`, { admin: true });
  assert.equal(granted.body.admin, true);
  assert.equal((await admin(gina, 'GET', '/users')).status, 200);
  assert.equal((await admin(root, 'PUT', `${user(gina.userId)}/admin`, { admin: true })).status, 200, 'no change is fine');
  assert.equal((await admin(gina, 'PUT', `${user(gina.userId)}/admin`, { admin: true })).status, 200, 'granting oneself what one has is fine');

  const before = await everything();
  expectError(await admin(gina, 'PUT', `${user(gina.userId)}/admin`, { admin: false }), 403, 'M_FORBIDDEN', /your own/);
  expectError(await admin(root, 'PUT', `${user(gina.userId)}/admin`, {}), 400, 'M_MISSING_PARAM');
  expectError(await admin(root, 'PUT', `${user(gina.userId)}/admin`, { admin: 'false' }), 400, 'M_BAD_JSON');
  expectError(await admin(root, 'PUT', `${user('@nobody:localhost')}/admin`, { admin: true }), 404, 'M_NOT_FOUND');
  assert.deepEqual(await everything(), before);

  assert.equal((await admin(gina, 'PUT', `${user(root.userId)}/admin`, { admin: false })).body.admin, false, 'another admin can revoke');
  expectError(await admin(root, 'GET', '/users'), 403, 'M_FORBIDDEN');
  assert.equal((await admin(gina, 'PUT', `${user(root.userId)}/admin`, { admin: true })).status, 200);
  const entries = await auditOf(gina.userId);
  assert.deepEqual(entries.map((e: any) => [e.action, e.actor, e.before, e.after]), [['user.admin', root.userId, { admin: false }, { admin: true }]]);
});

test('devices and sessions: listed with where and when last seen; log out one device or all', async () => {
  const hank = await registerUser(server.url, 'hank');
  const laptop = (await login('hank', hank.password, 'LAPTOP')).body.access_token;
  const devices = await admin(root, 'GET', `${user(hank.userId)}/devices`);
  assert.equal(devices.status, 200);
  assert.deepEqual(devices.body.devices.map((d: any) => d.device_id).sort(), [hank.deviceId, 'LAPTOP'].sort());
  const laptopRow = devices.body.devices.find((d: any) => d.device_id === 'LAPTOP');
  assert.equal(laptopRow.sessions, 1);
  assert.match(laptopRow.last_seen_ip, /127\.0\.0\.1/);
  assert.equal(typeof laptopRow.last_seen_ts, 'number');

  const before = await everything();
  expectError(await admin(root, 'POST', `${user(hank.userId)}/logout`, { device_id: 'NOPE' }), 404, 'M_NOT_FOUND');
  expectError(await admin(root, 'POST', `${user(hank.userId)}/logout`, { device_id: '' }), 400, 'M_BAD_JSON');
  expectError(await admin(root, 'POST', `${user(hank.userId)}/logout`, { device_id: 'x'.repeat(513) }), 400, 'M_BAD_JSON');
  expectError(await admin(root, 'GET', `${user('@nobody:localhost')}/devices`), 404, 'M_NOT_FOUND');
  expectError(await admin(root, 'POST', `${user('@nobody:localhost')}/logout`, {}), 404, 'M_NOT_FOUND');
  assert.deepEqual(await everything(), before);

  const one = await admin(root, 'POST', `${user(hank.userId)}/logout`, { device_id: 'LAPTOP' });
  assert.deepEqual(one.body.logged_out_devices, ['LAPTOP']);
  assert.equal(await whoamiStatus(laptop), 401);
  assert.equal(await whoamiStatus(hank.accessToken), 200);
  const all = await admin(root, 'POST', `${user(hank.userId)}/logout`, {});
  assert.deepEqual(all.body.logged_out_devices, [hank.deviceId]);
  assert.equal(await whoamiStatus(hank.accessToken), 401);
  assert.deepEqual((await admin(root, 'GET', `${user(hank.userId)}/devices`)).body.devices, []);
  assert.deepEqual((await auditOf(hank.userId)).map((e: any) => e.before.devices), [[hank.deviceId], ['LAPTOP']]);
});

test('the server-wide audit log merges user, token and channel actions newest first, filters, and pages back with next_before', async () => {
  const channel = await admin(root, 'POST', '/channels', { name: 'Audited' });
  assert.equal(channel.status, 200);
  assert.equal((await admin(root, 'POST', '/users', { localpart: 'ivy', password: 'pw' })).status, 200);
  const latest = await admin(root, 'GET', '/audit?limit=2');
  assert.deepEqual(latest.body.entries.map((e: any) => [e.action, e.target_type, e.target]), [
    ['user.create', 'user', '@ivy:localhost'],
    ['channel.create', 'channel', channel.body.room_id],
  ]);
  assert.ok(latest.body.entries[0].id > latest.body.entries[1].id);

  const channelsOnly = await admin(root, 'GET', '/audit?target_type=channel');
  assert.ok(channelsOnly.body.entries.length > 0 && channelsOnly.body.entries.every((e: any) => e.target_type === 'channel'));
  const byActor = await admin(root, 'GET', `/audit?actor=${encodeURIComponent(mallory.userId)}`);
  assert.deepEqual(byActor.body.entries, [], 'mallory changed nothing');
  const byAction = await admin(root, 'GET', '/audit?action=user.deactivate');
  assert.ok(byAction.body.entries.length >= 2 && byAction.body.entries.every((e: any) => e.action === 'user.deactivate'));

  const all: number[] = [];
  let beforeId: number | undefined;
  do {
    const page = await admin(root, 'GET', `/audit?limit=3${beforeId ? `&before=${beforeId}` : ''}`);
    all.push(...page.body.entries.map((e: any) => e.id));
    beforeId = page.body.next_before;
  } while (beforeId);
  assert.deepEqual(all, [...all].sort((a, b) => b - a));
  assert.equal(new Set(all).size, all.length);
  const everyRow = Number((await server.app.db.selectFrom('admin_audit').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n) +
    Number((await server.app.db.selectFrom('channel_audit').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  assert.equal(all.length, everyRow);

  for (const query of ['limit=501', 'limit=0', 'before=-1', 'target_type=room', `actor=${'a'.repeat(256)}`]) {
    expectError(await admin(root, 'GET', `/audit?${query}`), 400, 'M_INVALID_PARAM');
  }
});

test('the migrated admin_audit table has exactly the columns its type declares', async () => {
  await assertTableColumns(server.app.db, {
    admin_audit: { id: 1, actor: 1, action: 1, target_type: 1, target: 1, before: 1, after: 1, created_ts: 1 } satisfies Record<keyof AdminAuditTable, 1>,
  });
});
