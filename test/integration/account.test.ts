import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { request, registerUser, type HttpResult, type TestUser } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { ACCOUNT_TABLES, snapshotTables } from '../support/db-snapshot.ts';

const PASSWORD = '/_matrix/client/v3/account/password';
const DEACTIVATE = '/_matrix/client/v3/account/deactivate';
const WHOAMI = '/_matrix/client/v3/account/whoami';
const LOGIN = '/_matrix/client/v3/login';

describe('account management', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  async function login(user: string, password: string, deviceId?: string): Promise<HttpResult> {
    const result = await request(server.url, 'POST', LOGIN, {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password, device_id: deviceId },
    });
    await assertMatchesSpec({ method: 'POST', path: LOGIN, status: result.status, body: result.body });
    return result;
  }

  function passwordAuth(user: TestUser, password: string, session?: string) {
    return { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.userId }, password, session };
  }

  /** Runs a UIA-protected POST to completion with the user's password; returns the final response. */
  async function withPasswordUia(user: TestUser, path: string, body: Record<string, unknown>, password = user.password): Promise<HttpResult> {
    const challenge = await request(server.url, 'POST', path, { token: user.accessToken, body });
    assert.equal(challenge.status, 401, JSON.stringify(challenge.body));
    await assertMatchesSpec({ method: 'POST', path, status: 401, body: challenge.body });
    assert.deepEqual(challenge.body.flows, [{ stages: ['m.login.password'] }]);
    return request(server.url, 'POST', path, { token: user.accessToken, body: { ...body, auth: passwordAuth(user, password, challenge.body.session) } });
  }

  async function whoamiStatus(token: string): Promise<number> {
    return (await request(server.url, 'GET', WHOAMI, { token })).status;
  }

  it('changes the password behind UIA and logs out the other devices', async () => {
    const alice = await registerUser(server.url, 'alice', { password: 'old-password' });
    const phone = await login('alice', 'old-password', 'PHONE');
    assert.equal(phone.status, 200);

    const result = await withPasswordUia(alice, PASSWORD, { new_password: 'new-password' });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    await assertMatchesSpec({ method: 'POST', path: PASSWORD, status: 200, body: result.body });

    assert.equal((await login('alice', 'old-password')).status, 403);
    assert.equal((await login('alice', 'new-password')).status, 200);
    assert.equal(await whoamiStatus(alice.accessToken), 200, 'the calling device keeps working');
    assert.equal(await whoamiStatus(phone.body.access_token), 401, 'other devices are logged out');
    const devices = await server.app.db.selectFrom('devices').select('device_id').where('device_id', '=', 'PHONE').execute();
    assert.deepEqual(devices, []);
  });

  it('keeps other devices with logout_devices: false', async () => {
    const bob = await registerUser(server.url, 'bob', { password: 'old-password' });
    const phone = await login('bob', 'old-password', 'PHONE');
    const result = await withPasswordUia(bob, PASSWORD, { new_password: 'new-password', logout_devices: false });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(await whoamiStatus(phone.body.access_token), 200);
    assert.equal(await whoamiStatus(bob.accessToken), 200);
    assert.equal((await login('bob', 'new-password')).status, 200);
  });

  it('refuses a password change with the wrong current password, changing nothing', async () => {
    const carol = await registerUser(server.url, 'carol', { password: 'carol-password' });
    await login('carol', 'carol-password', 'PHONE');
    const before = await snapshotTables(server.app.db, ['users', 'devices', 'access_tokens']);
    const result = await withPasswordUia(carol, PASSWORD, { new_password: 'stolen' }, 'wrong-password');
    assert.equal(result.status, 401, JSON.stringify(result.body));
    await assertMatchesSpec({ method: 'POST', path: PASSWORD, status: 401, body: result.body });
    assert.equal(result.body.errcode, 'M_FORBIDDEN');
    assert.equal(typeof result.body.error, 'string');
    assert.deepEqual(await snapshotTables(server.app.db, ['users', 'devices', 'access_tokens']), before);
  });

  it('refuses a password change without a token (no e-mail reset here)', async () => {
    const before = await snapshotTables(server.app.db, ['users']);
    const result = await request(server.url, 'POST', PASSWORD, { body: { new_password: 'x' } });
    // The spec's 401 here is the UIA body; a missing token is the standard error instead.
    await assertRefusal(result, { status: 401, errcode: 'M_MISSING_TOKEN', method: 'POST', path: PASSWORD, checkSpec: false });
    assert.deepEqual(await snapshotTables(server.app.db, ['users']), before);
  });

  it('deactivates behind UIA: the token dies, login is refused, the name stays taken', async () => {
    const dora = await registerUser(server.url, 'dora', { password: 'dora-password' });
    const result = await withPasswordUia(dora, DEACTIVATE, {});
    assert.equal(result.status, 200, JSON.stringify(result.body));
    await assertMatchesSpec({ method: 'POST', path: DEACTIVATE, status: 200, body: result.body });

    const whoami = await request(server.url, 'GET', WHOAMI, { token: dora.accessToken });
    await assertRefusal(whoami, { status: 401, errcode: 'M_UNKNOWN_TOKEN', method: 'GET', path: WHOAMI });
    const relogin = await login('dora', 'dora-password');
    await assertRefusal(relogin, { status: 403, errcode: 'M_USER_DEACTIVATED', method: 'POST', path: LOGIN });

    const available = await request(server.url, 'GET', '/_matrix/client/v3/register/available?username=dora');
    await assertRefusal(available, { status: 400, errcode: 'M_USER_IN_USE', method: 'GET', path: '/_matrix/client/v3/register/available' });
    const before = await snapshotTables(server.app.db, ['users', 'devices', 'access_tokens']);
    const again = await request(server.url, 'POST', '/_matrix/client/v3/register', {
      body: { username: 'dora', password: 'pw', auth: { type: 'm.login.dummy' } },
    });
    await assertRefusal(again, { status: 400, errcode: 'M_USER_IN_USE', method: 'POST', path: '/_matrix/client/v3/register' });
    assert.deepEqual(await snapshotTables(server.app.db, ['users', 'devices', 'access_tokens']), before);

    const row = await server.app.db.selectFrom('users').selectAll().where('user_id', '=', dora.userId).executeTakeFirstOrThrow();
    assert.equal(row.deactivated, true);
    assert.equal(row.password_hash, null);
    const devices = await server.app.db.selectFrom('devices').select('device_id').where('user_id', '=', dora.userId).execute();
    assert.deepEqual(devices, []);
  });

  it('deactivation leaves every room, rejects pending invites and withdraws knocks, so members see the user go', async () => {
    const host = await registerUser(server.url, 'host');
    const gwen = await registerUser(server.url, 'gwen', { password: 'gwen-password' });
    const make = async (body: Record<string, unknown>) => (await request(server.url, 'POST', '/_matrix/client/v3/createRoom', { token: host.accessToken, body })).body.room_id as string;
    const joined = await make({ preset: 'public_chat' });
    const invited = await make({ preset: 'private_chat' });
    const knocked = await make({ preset: 'private_chat', room_version: '10', initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'knock' } }] });
    const room = (roomId: string, rest: string) => `/_matrix/client/v3/${rest.replace('{room}', encodeURIComponent(roomId))}`;
    assert.equal((await request(server.url, 'POST', room(joined, 'rooms/{room}/join'), { token: gwen.accessToken, body: {} })).status, 200);
    assert.equal((await request(server.url, 'POST', room(invited, 'rooms/{room}/invite'), { token: host.accessToken, body: { user_id: gwen.userId } })).status, 200);
    assert.equal((await request(server.url, 'POST', room(knocked, 'knock/{room}'), { token: gwen.accessToken, body: {} })).status, 200);

    assert.equal((await withPasswordUia(gwen, DEACTIVATE, {})).status, 200);
    for (const roomId of [joined, invited, knocked]) {
      const member = await request(server.url, 'GET', room(roomId, `rooms/{room}/state/m.room.member/${encodeURIComponent(gwen.userId)}`), { token: host.accessToken });
      assert.deepEqual([member.status, member.body.membership], [200, 'leave'], roomId);
    }
  });

  it('refuses deactivation with a wrong password, changing nothing', async () => {
    const erin = await registerUser(server.url, 'erin', { password: 'erin-password' });
    const before = await snapshotTables(server.app.db, ['users', 'devices', 'access_tokens']);
    const result = await withPasswordUia(erin, DEACTIVATE, {}, 'wrong-password');
    assert.equal(result.status, 401);
    assert.equal(result.body.errcode, 'M_FORBIDDEN');
    assert.deepEqual(await snapshotTables(server.app.db, ['users', 'devices', 'access_tokens']), before);
    assert.equal(await whoamiStatus(erin.accessToken), 200);
  });

  it('has no third-party identifiers', async () => {
    const fred = await registerUser(server.url, 'fred');
    const result = await request(server.url, 'GET', '/_matrix/client/v3/account/3pid', { token: fred.accessToken });
    assert.equal(result.status, 200);
    await assertMatchesSpec({ method: 'GET', path: '/_matrix/client/v3/account/3pid', status: 200, body: result.body });
    assert.deepEqual(result.body, { threepids: [] });
  });

  it('stores access tokens only as SHA-256 hashes and passwords as argon2id', async () => {
    const gina = await registerUser(server.url, 'gina', { password: 'gina-plaintext-password' });
    const second = await login('gina', 'gina-plaintext-password');
    const tokens = [gina.accessToken, second.body.access_token as string];

    const rows = await server.app.db.selectFrom('access_tokens').selectAll().where('user_id', '=', gina.userId).execute();
    const stored = rows.map((row) => row.token_hash.toString('hex')).sort();
    assert.deepEqual(stored, tokens.map((token) => createHash('sha256').update(token).digest('hex')).sort());

    // Neither a token nor the password appears anywhere in the account tables, in any encoding we might use.
    const dump = JSON.stringify(await snapshotTables(server.app.db, ACCOUNT_TABLES));
    for (const secret of [...tokens, 'gina-plaintext-password']) {
      assert.ok(!dump.includes(secret), 'a plaintext secret is stored');
      assert.ok(!dump.includes(Buffer.from(secret).toString('hex')), 'a hex-encoded secret is stored');
      assert.ok(!dump.includes(Buffer.from(secret).toString('base64')), 'a base64-encoded secret is stored');
    }

    const users = await server.app.db.selectFrom('users').select(['user_id', 'password_hash']).where('password_hash', 'is not', null).execute();
    assert.ok(users.length > 0);
    for (const user of users) assert.match(user.password_hash!, /^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/, user.user_id);
  });
});
