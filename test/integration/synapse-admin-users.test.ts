import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type HttpResult, type TestUser } from '../support/http.ts';
import { snapshotTables } from '../support/db-snapshot.ts';
import { createRoom, roomGet, roomPost } from '../support/rooms.ts';

let server: TestServer;
let root: TestUser;
let mallory: TestUser;
const V1 = '/_synapse/admin/v1';
const V2 = '/_synapse/admin/v2';
const LOGIN = '/_matrix/client/v3/login';

before(async () => {
  server = await startTestServer();
  root = await registerUser(server.url, 'root', { admin: true });
  mallory = await registerUser(server.url, 'mallory');
});
after(() => server.stop());

const call = (user: TestUser | null, method: string, path: string, body?: unknown) => request(server.url, method, path, { token: user?.accessToken, body });
/** Synapse tools put the user ID in the path as it is, without percent-encoding. */
const userPath = (userId: string) => `${V2}/users/${userId}`;
const login = (localpart: string, password: string) =>
  request(server.url, 'POST', LOGIN, { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: localpart }, password } });
const whoamiStatus = async (token: string) => (await request(server.url, 'GET', '/_matrix/client/v3/account/whoami', { token })).status;
const everything = async () => ({
  accounts: await snapshotTables(server.app.db, ['users', 'devices', 'access_tokens', 'registration_tokens']),
  audit: await server.app.db.selectFrom('admin_audit').select('id').orderBy('id').execute(),
});
function expectError(result: HttpResult, status: number, errcode: string, mentions?: RegExp) {
  assert.deepEqual([result.status, result.body.errcode], [status, errcode], JSON.stringify(result.body));
  assert.equal(typeof result.body.error, 'string');
  if (mentions) assert.match(result.body.error, mentions);
}

/** The fields Synapse's "Query User Account" returns, with the types it gives them. */
const QUERIED_FIELDS = [
  'admin', 'appservice_id', 'avatar_url', 'consent_server_notice_sent', 'consent_ts', 'consent_version', 'creation_ts', 'deactivated', 'displayname',
  'erased', 'external_ids', 'is_guest', 'last_seen_ts', 'locked', 'name', 'shadow_banned', 'suspended', 'threepids', 'user_type',
];
const LISTED_FIELDS = ['admin', 'avatar_url', 'creation_ts', 'deactivated', 'displayname', 'erased', 'is_guest', 'last_seen_ts', 'locked', 'name', 'shadow_banned', 'user_type'];

test('GET server_version answers server admins only', async () => {
  const version = await call(root, 'GET', `${V1}/server_version`);
  assert.equal(version.status, 200);
  assert.match(version.body.server_version, /^Palisade \d+\.\d+\.\d+/);
  expectError(await call(mallory, 'GET', `${V1}/server_version`), 403, 'M_FORBIDDEN');
});

test('PUT v2/users creates (201), then modifies (200): password, display name, admin, deactivation and back', async () => {
  const created = await call(root, 'PUT', userPath('@jane:localhost'), { password: 'jane-one', displayname: 'Jane', admin: false, threepids: [], external_ids: [], user_type: null });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.deepEqual(Object.keys(created.body).sort(), QUERIED_FIELDS);
  assert.deepEqual([created.body.name, created.body.displayname, created.body.admin, created.body.deactivated], ['@jane:localhost', 'Jane', false, false]);
  const jane = (await login('jane', 'jane-one')).body.access_token;
  const roomId = await createRoom(server, root, { preset: 'public_chat' });
  assert.equal((await request(server.url, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`, { token: jane, body: {} })).status, 200);

  const renamed = await call(root, 'PUT', userPath('@jane:localhost'), { displayname: 'Jane Doe', admin: true });
  assert.equal(renamed.status, 200);
  assert.deepEqual([renamed.body.displayname, renamed.body.admin], ['Jane Doe', true]);
  const member = await roomGet(server, root, roomId, `state/m.room.member/${encodeURIComponent('@jane:localhost')}`);
  assert.equal(member.body.displayname, 'Jane Doe', 'the new name reaches the rooms she is in');
  assert.equal(await whoamiStatus(jane), 200, 'no password given: still logged in');

  const repassworded = await call(root, 'PUT', userPath('@jane:localhost'), { password: 'jane-two' });
  assert.equal(repassworded.status, 200);
  assert.equal(await whoamiStatus(jane), 401, 'a new password logs out every device by default');
  const jane2 = (await login('jane', 'jane-two')).body.access_token;
  assert.equal((await call(root, 'PUT', userPath('@jane:localhost'), { password: 'jane-three', logout_devices: false })).status, 200);
  assert.equal(await whoamiStatus(jane2), 200);

  const deactivated = await call(root, 'PUT', userPath('@jane:localhost'), { deactivated: true });
  assert.equal(deactivated.body.deactivated, true);
  assert.equal(await whoamiStatus(jane2), 401);
  assert.equal((await roomGet(server, root, roomId, `state/m.room.member/${encodeURIComponent('@jane:localhost')}`)).body.membership, 'leave');

  const before = await everything();
  expectError(await call(root, 'PUT', userPath('@jane:localhost'), { deactivated: false }), 400, 'M_MISSING_PARAM', /password/);
  assert.deepEqual(await everything(), before);
  const reactivated = await call(root, 'PUT', userPath('@jane:localhost'), { deactivated: false, password: 'jane-back' });
  assert.equal(reactivated.body.deactivated, false);
  assert.equal((await login('jane', 'jane-back')).status, 200);

  const actions = (await server.app.db.selectFrom('admin_audit').select('action').where('target', '=', '@jane:localhost').orderBy('id').execute()).map((row) => row.action);
  assert.deepEqual(actions, ['user.create', 'user.profile', 'user.admin', 'user.password_reset', 'user.password_reset', 'user.deactivate', 'user.reactivate']);
});

test('PUT v2/users refuses what it cannot do with 400/403 and changes nothing', async () => {
  const kim = await registerUser(server.url, 'kim');
  const before = await everything();
  const cases: Array<[string, unknown, number, string, RegExp?]> = [
    [userPath('@remote:elsewhere.example'), { password: 'x' }, 400, 'M_INVALID_PARAM', /local/],
    [userPath('@UPPER:localhost'), { password: 'x' }, 400, 'M_INVALID_USERNAME'],
    [userPath('@newbie:localhost'), { password: 'x', deactivated: true }, 400, 'M_INVALID_PARAM'],
    [userPath(kim.userId), { threepids: [{ medium: 'email', address: 'kim@example.com' }] }, 400, 'M_BAD_JSON', /third-party/],
    [userPath(kim.userId), { user_type: 'bot' }, 400, 'M_BAD_JSON'],
    [userPath(kim.userId), { admin: 'yes' }, 400, 'M_BAD_JSON'],
    [userPath(kim.userId), { password: '' }, 400, 'M_BAD_JSON'],
    [userPath(kim.userId), { displayname: 'k'.repeat(257) }, 400, 'M_BAD_JSON'],
    [userPath(kim.userId), { avatar_url: 'not-mxc' }, 400, 'M_INVALID_PARAM'],
    [userPath(kim.userId), { displayname: 'Kim Renamed', avatar_url: 'not-mxc' }, 400, 'M_INVALID_PARAM'],
    [userPath(root.userId), { admin: false }, 403, 'M_FORBIDDEN', /your own/],
    [userPath(root.userId), { deactivated: true }, 403, 'M_FORBIDDEN', /your own/],
    [userPath('not-a-user-id'), {}, 400, 'M_INVALID_PARAM'],
  ];
  for (const [path, body, status, errcode, mentions] of cases) expectError(await call(root, 'PUT', path, body), status, errcode, mentions);
  expectError(await call(mallory, 'PUT', userPath('@sneaky:localhost'), { password: 'x', admin: true }), 403, 'M_FORBIDDEN');
  expectError(await call(mallory, 'PUT', userPath(mallory.userId), { admin: true }), 403, 'M_FORBIDDEN');
  expectError(await call(null, 'PUT', userPath(kim.userId), { displayname: 'x' }), 401, 'M_MISSING_TOKEN');
  assert.deepEqual(await everything(), before);
});

test('GET v2/users/{userId}: the account, or 404 M_NOT_FOUND; admins only', async () => {
  const got = await call(root, 'GET', userPath(mallory.userId));
  assert.equal(got.status, 200);
  assert.deepEqual(Object.keys(got.body).sort(), QUERIED_FIELDS);
  assert.deepEqual([got.body.name, got.body.admin, got.body.is_guest, got.body.threepids], [mallory.userId, false, false, []]);
  assert.ok(Math.abs(got.body.creation_ts - Date.now()) < 600_000, 'creation_ts in milliseconds');
  expectError(await call(root, 'GET', userPath('@ghost:localhost')), 404, 'M_NOT_FOUND');
  expectError(await call(mallory, 'GET', userPath(root.userId)), 403, 'M_FORBIDDEN');
});

test('GET v2/users lists with from/limit/next_token/total, name and user_id filters, deactivated and dir', async () => {
  for (const localpart of ['pa', 'pb', 'pc', 'pd']) await registerUser(server.url, localpart, { displayname: `Pager ${localpart}` });
  const seen: string[] = [];
  let from: string | undefined = '0';
  let total = 0;
  while (from !== undefined) {
    const page: HttpResult = await call(root, 'GET', `${V2}/users?from=${from}&limit=3&guests=false`);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    for (const listed of page.body.users) assert.deepEqual(Object.keys(listed).sort(), LISTED_FIELDS);
    assert.equal(typeof page.body.total, 'number');
    assert.ok(page.body.next_token === undefined || typeof page.body.next_token === 'string');
    seen.push(...page.body.users.map((u: any) => u.name));
    total = page.body.total;
    from = page.body.next_token;
  }
  assert.equal(seen.length, total);
  assert.equal(new Set(seen).size, total);
  assert.deepEqual(seen, [...seen].sort());

  const byName = await call(root, 'GET', `${V2}/users?name=pager`);
  assert.deepEqual(byName.body.users.map((u: any) => u.name), ['@pa:localhost', '@pb:localhost', '@pc:localhost', '@pd:localhost']);
  const byLocalpart = await call(root, 'GET', `${V2}/users?name=pb`);
  assert.deepEqual(byLocalpart.body.users.map((u: any) => u.name), ['@pb:localhost']);
  assert.equal((await call(root, 'GET', `${V2}/users?name=localhost`)).body.total, 0, 'name matches the localpart, not the server name');
  const byId = await call(root, 'GET', `${V2}/users?user_id=${encodeURIComponent('@pc:')}`);
  assert.deepEqual(byId.body.users.map((u: any) => u.name), ['@pc:localhost']);
  const backwards = await call(root, 'GET', `${V2}/users?name=pager&dir=b&limit=2`);
  assert.deepEqual(backwards.body.users.map((u: any) => u.name), ['@pd:localhost', '@pc:localhost']);
  assert.equal(backwards.body.next_token, '2');

  assert.deepEqual((await call(root, 'POST', `${V1}/deactivate/@pd:localhost`, {})).body, { id_server_unbind_result: 'success' });
  assert.equal((await call(root, 'GET', `${V2}/users?name=pager`)).body.total, 3);
  const withDeactivated = await call(root, 'GET', `${V2}/users?name=pager&deactivated=true`);
  assert.equal(withDeactivated.body.total, 4);
  assert.equal(withDeactivated.body.users.find((u: any) => u.name === '@pd:localhost').deactivated, true);

  const byCreation = await call(root, 'GET', `${V2}/users?name=pager&order_by=creation_ts&dir=b`);
  assert.deepEqual(byCreation.body.users.map((u: any) => u.name), ['@pc:localhost', '@pb:localhost', '@pa:localhost'], 'newest first');
  const byAdmin = await call(root, 'GET', `${V2}/users?order_by=admin&dir=b&limit=1`);
  assert.equal(byAdmin.body.users[0].admin, true);
  assert.equal((await call(root, 'GET', `${V2}/users?order_by=shadow_banned`)).status, 200, 'orders for fields this server lacks sort by name');

  for (const query of ['limit=0', 'limit=1001', 'from=-1', 'from=abc', 'deactivated=yes', 'dir=up', 'order_by=password', `name=${'n'.repeat(256)}`]) {
    expectError(await call(root, 'GET', `${V2}/users?${query}`), 400, 'M_INVALID_PARAM');
  }
  expectError(await call(mallory, 'GET', `${V2}/users`), 403, 'M_FORBIDDEN');
});

test('POST v1/deactivate/{userId}: as /account/deactivate, erase clears the profile; 404 unknown, 403 self or non-admin', async () => {
  const lena = await registerUser(server.url, 'lena', { displayname: 'Lena' });
  const roomId = await createRoom(server, root, { preset: 'public_chat' });
  assert.equal((await roomPost(server, lena, roomId, 'join')).status, 200);
  const before = await everything();
  expectError(await call(mallory, 'POST', `${V1}/deactivate/${lena.userId}`, { erase: true }), 403, 'M_FORBIDDEN');
  expectError(await call(root, 'POST', `${V1}/deactivate/${root.userId}`, {}), 403, 'M_FORBIDDEN');
  expectError(await call(root, 'POST', `${V1}/deactivate/@ghost:localhost`, {}), 404, 'M_NOT_FOUND');
  expectError(await call(root, 'POST', `${V1}/deactivate/${lena.userId}`, { erase: 'please' }), 400, 'M_BAD_JSON');
  assert.deepEqual(await everything(), before);

  const result = await request(server.url, 'POST', `${V1}/deactivate/${lena.userId}`, { token: root.accessToken, body: { erase: true } });
  assert.deepEqual([result.status, result.body], [200, { id_server_unbind_result: 'success' }]);
  assert.equal(await whoamiStatus(lena.accessToken), 401);
  assert.equal((await roomGet(server, root, roomId, `state/m.room.member/${encodeURIComponent(lena.userId)}`)).body.membership, 'leave');
  const row = (await call(root, 'GET', userPath(lena.userId))).body;
  assert.deepEqual([row.deactivated, row.displayname], [true, null]);
  // An empty body works too, as Synapse allows.
  const mia = await registerUser(server.url, 'mia');
  const empty = await request(server.url, 'POST', `${V1}/deactivate/${mia.userId}`, { token: root.accessToken });
  assert.equal(empty.status, 200, JSON.stringify(empty.body));
});

test('v1/registration_tokens: Synapse paths over the same tokens and audit as the Palisade API', async () => {
  const created = await call(root, 'POST', `${V1}/registration_tokens/new`, { token: 'defg', uses_allowed: 1, some_future_field: true });
  assert.deepEqual([created.status, created.body], [200, { token: 'defg', uses_allowed: 1, pending: 0, completed: 0, expiry_time: null }]);
  const generated = await call(root, 'POST', `${V1}/registration_tokens/new`, {});
  assert.match(generated.body.token, /^[A-Za-z0-9._~-]{16}$/);
  const expiry = Date.now() + 86_400_000;
  const updated = await call(root, 'PUT', `${V1}/registration_tokens/defg`, { expiry_time: expiry });
  assert.deepEqual(updated.body, { token: 'defg', uses_allowed: 1, pending: 0, completed: 0, expiry_time: expiry });
  assert.equal((await call(root, 'PUT', `${V1}/registration_tokens/defg`, { uses_allowed: 0 })).body.uses_allowed, 0);
  const invalid = await call(root, 'GET', `${V1}/registration_tokens?valid=false`);
  assert.deepEqual(invalid.body.registration_tokens.map((t: any) => t.token), ['defg']);
  const valid = await call(root, 'GET', `${V1}/registration_tokens?valid=true`);
  assert.deepEqual(valid.body.registration_tokens.map((t: any) => t.token), [generated.body.token]);
  assert.equal((await call(root, 'GET', `${V1}/registration_tokens/defg`)).body.token, 'defg');
  assert.deepEqual((await call(root, 'DELETE', `${V1}/registration_tokens/defg`)).body, {});
  expectError(await call(root, 'GET', `${V1}/registration_tokens/defg`), 404, 'M_NOT_FOUND');
  expectError(await call(root, 'DELETE', `${V1}/registration_tokens/defg`), 404, 'M_NOT_FOUND');
  expectError(await call(root, 'PUT', `${V1}/registration_tokens/defg`, { uses_allowed: 1 }), 404, 'M_NOT_FOUND');
  expectError(await call(root, 'POST', `${V1}/registration_tokens/new`, { token: 'bad token' }), 400, 'M_INVALID_PARAM');
  expectError(await call(root, 'POST', `${V1}/registration_tokens/new`, { length: 65 }), 400, 'M_INVALID_PARAM');
  for (const [method, path] of [['GET', `${V1}/registration_tokens`], ['POST', `${V1}/registration_tokens/new`], ['GET', `${V1}/registration_tokens/x`], ['PUT', `${V1}/registration_tokens/x`], ['DELETE', `${V1}/registration_tokens/x`]]) {
    expectError(await call(mallory, method, path, method === 'GET' || method === 'DELETE' ? undefined : {}), 403, 'M_FORBIDDEN');
  }

  const audit = await request(server.url, 'GET', '/_palisade/admin/v1/audit?target=defg', { token: root.accessToken });
  assert.deepEqual(audit.body.entries.map((e: any) => e.action), [
    'registration_token.delete',
    'registration_token.update',
    'registration_token.update',
    'registration_token.create',
  ]);
});

test('v1 reset_password, v1 users/{userId}/admin and v2 users/{userId}/devices, as Synapse tools call them', async () => {
  const noel = await registerUser(server.url, 'noel');
  const laptop = (await login('noel', noel.password)).body.access_token;
  const devices = await call(root, 'GET', `${V2}/users/${noel.userId}/devices`);
  assert.equal(devices.status, 200);
  assert.equal(devices.body.total, 2);
  for (const device of devices.body.devices) {
    assert.deepEqual(Object.keys(device).sort(), ['device_id', 'display_name', 'last_seen_ip', 'last_seen_ts', 'last_seen_user_agent', 'user_id']);
    assert.equal(device.user_id, noel.userId);
  }
  assert.deepEqual((await call(root, 'DELETE', `${V2}/users/${noel.userId}/devices/${noel.deviceId}`)).body, {});
  assert.equal(await whoamiStatus(noel.accessToken), 401);
  assert.equal(await whoamiStatus(laptop), 200);
  assert.equal((await call(root, 'DELETE', `${V2}/users/${noel.userId}/devices/${noel.deviceId}`)).status, 200, 'an unknown device is no error, as in Synapse');

  assert.deepEqual((await call(root, 'POST', `${V1}/reset_password/${noel.userId}`, { new_password: 'noel-new', logout_devices: false })).body, {});
  assert.equal(await whoamiStatus(laptop), 200);
  assert.equal((await login('noel', 'noel-new')).status, 200);
  assert.deepEqual((await call(root, 'POST', `${V1}/reset_password/${noel.userId}`, { new_password: 'noel-newer' })).body, {});
  assert.equal(await whoamiStatus(laptop), 401, 'logout_devices defaults to true');

  assert.deepEqual((await call(root, 'GET', `${V1}/users/${noel.userId}/admin`)).body, { admin: false });
  assert.deepEqual((await call(root, 'PUT', `${V1}/users/${noel.userId}/admin`, { admin: true })).body, {});
  assert.deepEqual((await call(root, 'GET', `${V1}/users/${noel.userId}/admin`)).body, { admin: true });

  const before = await everything();
  expectError(await call(root, 'PUT', `${V1}/users/${root.userId}/admin`, { admin: false }), 403, 'M_FORBIDDEN', /your own/);
  expectError(await call(root, 'PUT', `${V1}/users/${noel.userId}/admin`, {}), 400, 'M_MISSING_PARAM');
  expectError(await call(root, 'GET', `${V1}/users/@ghost:localhost/admin`), 404, 'M_NOT_FOUND');
  expectError(await call(root, 'POST', `${V1}/reset_password/@ghost:localhost`, { new_password: 'x' }), 404, 'M_NOT_FOUND');
  expectError(await call(root, 'POST', `${V1}/reset_password/${noel.userId}`, { new_password: '' }), 400, 'M_BAD_JSON');
  expectError(await call(root, 'GET', `${V2}/users/@ghost:localhost/devices`), 404, 'M_NOT_FOUND');
  expectError(await call(root, 'DELETE', `${V2}/users/${noel.userId}/devices/${'d'.repeat(513)}`), 400, 'M_INVALID_PARAM');
  for (const [method, path, body] of [
    ['POST', `${V1}/reset_password/${noel.userId}`, { new_password: 'x' }],
    ['GET', `${V1}/users/${noel.userId}/admin`],
    ['PUT', `${V1}/users/${mallory.userId}/admin`, { admin: true }],
    ['GET', `${V2}/users/${noel.userId}/devices`],
    ['DELETE', `${V2}/users/${noel.userId}/devices/X`],
  ] as const) {
    expectError(await call(mallory, method, path, body), 403, 'M_FORBIDDEN');
  }
  assert.deepEqual(await everything(), before);
});
