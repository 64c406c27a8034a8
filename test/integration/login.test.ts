import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request, registerUser, type TestUser } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { snapshotTables } from '../support/db-snapshot.ts';

const LOGIN = '/_matrix/client/v3/login';
const SESSION_TABLES = ['users', 'devices', 'access_tokens'] as const;

function passwordLogin(user: string, password: string, extra: Record<string, unknown> = {}) {
  return { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password, ...extra };
}

describe('login', () => {
  let server: TestServer;
  let alice: TestUser;
  before(async () => {
    server = await startTestServer();
    alice = await registerUser(server.url, 'alice', { password: 'alice-password' });
  });
  after(() => server.stop());

  async function loginOk(body: Record<string, unknown>) {
    const result = await request(server.url, 'POST', LOGIN, { body });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    await assertMatchesSpec({ method: 'POST', path: LOGIN, status: 200, body: result.body });
    assert.equal(result.body.user_id, '@alice:localhost');
    const whoami = await request(server.url, 'GET', '/_matrix/client/v3/account/whoami', { token: result.body.access_token });
    assert.equal(whoami.status, 200);
    assert.equal(whoami.body.device_id, result.body.device_id);
    return result.body as { user_id: string; access_token: string; device_id: string };
  }

  it('lists m.login.password and, for appservices, m.login.application_service', async () => {
    const result = await request(server.url, 'GET', LOGIN);
    assert.equal(result.status, 200);
    await assertMatchesSpec({ method: 'GET', path: LOGIN, status: 200, body: result.body });
    assert.deepEqual(result.body.flows, [{ type: 'm.login.password' }, { type: 'm.login.application_service' }]);
  });

  it('accepts an m.id.user identifier with a localpart or a full user ID', async () => {
    const byLocalpart = await loginOk(passwordLogin('alice', 'alice-password'));
    const byUserId = await loginOk(passwordLogin('@alice:localhost', 'alice-password'));
    assert.notEqual(byLocalpart.device_id, byUserId.device_id);
    assert.notEqual(byLocalpart.access_token, byUserId.access_token);
  });

  it('accepts the legacy user field', async () => {
    await loginOk({ type: 'm.login.password', user: 'alice', password: 'alice-password' });
  });

  it('reuses a device_id the client already has, with a new token and no second device', async () => {
    const first = await loginOk(passwordLogin('alice', 'alice-password', { device_id: 'LAPTOP', initial_device_display_name: 'Laptop' }));
    const second = await loginOk(passwordLogin('alice', 'alice-password', { device_id: 'LAPTOP' }));
    assert.equal(first.device_id, 'LAPTOP');
    assert.equal(second.device_id, 'LAPTOP');
    assert.notEqual(first.access_token, second.access_token);
    const rows = await server.app.db.selectFrom('devices').selectAll().where('device_id', '=', 'LAPTOP').execute();
    assert.equal(rows.length, 1);
    assert.equal(rows[0].display_name, 'Laptop');
  });

  const refusals: Array<{ name: string; body: unknown; status: number; errcode: string; message?: string }> = [
    { name: 'a wrong password', body: passwordLogin('alice', 'wrong'), status: 403, errcode: 'M_FORBIDDEN', message: 'Invalid username or password' },
    { name: 'an unknown user', body: passwordLogin('nobody', 'alice-password'), status: 403, errcode: 'M_FORBIDDEN', message: 'Invalid username or password' },
    { name: 'a user of another server', body: passwordLogin('@alice:elsewhere.example', 'alice-password'), status: 403, errcode: 'M_FORBIDDEN', message: 'Invalid username or password' },
    { name: 'an unsupported login type', body: { type: 'm.login.token', token: 'abc' }, status: 400, errcode: 'M_UNKNOWN' },
    { name: 'an unsupported identifier type', body: { type: 'm.login.password', identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'a@example.org' }, password: 'alice-password' }, status: 400, errcode: 'M_UNKNOWN' },
    { name: 'a missing password', body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' } }, status: 400, errcode: 'M_MISSING_PARAM', message: 'password' },
    { name: 'a missing user', body: { type: 'm.login.password', password: 'alice-password' }, status: 400, errcode: 'M_MISSING_PARAM' },
    { name: 'a password of the wrong type', body: { type: 'm.login.password', user: 'alice', password: 12345 }, status: 400, errcode: 'M_BAD_JSON', message: 'password' },
  ];
  for (const refusal of refusals) {
    it(`refuses ${refusal.name} and creates no session`, async () => {
      const before = await snapshotTables(server.app.db, SESSION_TABLES);
      const result = await request(server.url, 'POST', LOGIN, { body: refusal.body });
      await assertRefusal(result, { status: refusal.status, errcode: refusal.errcode, method: 'POST', path: LOGIN });
      if (refusal.message) assert.ok(result.body.error.includes(refusal.message), result.body.error);
      assert.deepEqual(await snapshotTables(server.app.db, SESSION_TABLES), before);
    });
  }

  it('gives a wrong password and an unknown user the same answer', async () => {
    const wrong = await request(server.url, 'POST', LOGIN, { body: passwordLogin('alice', 'wrong') });
    const unknown = await request(server.url, 'POST', LOGIN, { body: passwordLogin('nobody', 'wrong') });
    assert.deepEqual(wrong.body, unknown.body);
    assert.equal(wrong.status, unknown.status);
  });

  it('refuses a deactivated user', async () => {
    const dora = await registerUser(server.url, 'dora', { password: 'dora-password' });
    const deactivate = await request(server.url, 'POST', '/_matrix/client/v3/account/deactivate', {
      token: dora.accessToken,
      body: { auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'dora' }, password: 'dora-password' } },
    });
    assert.equal(deactivate.status, 200, JSON.stringify(deactivate.body));
    const before = await snapshotTables(server.app.db, SESSION_TABLES);
    const result = await request(server.url, 'POST', LOGIN, { body: passwordLogin('dora', 'dora-password') });
    await assertRefusal(result, { status: 403, errcode: 'M_USER_DEACTIVATED', method: 'POST', path: LOGIN });
    assert.deepEqual(await snapshotTables(server.app.db, SESSION_TABLES), before);
  });

  it('keeps working for the right password after failures', async () => {
    await loginOk(passwordLogin('ALICE', alice.password));
  });
});

describe('login rate limit', () => {
  let server: TestServer;
  before(async () => {
    const small = { per_second: 0.1, burst_count: 2 };
    server = await startTestServer({ rc_login: { address: small, account: { per_second: 1000, burst_count: 10000 }, failed_attempts: { per_second: 1000, burst_count: 10000 } } });
    await registerUser(server.url, 'eve', { password: 'eve-password' });
  });
  after(() => server.stop());

  it('answers the third login from one address with 429 and retry_after_ms, issuing no token', async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const result = await request(server.url, 'POST', LOGIN, { body: passwordLogin('eve', 'eve-password') });
      assert.equal(result.status, 200, JSON.stringify(result.body));
    }
    const before = await snapshotTables(server.app.db, SESSION_TABLES);
    const limited = await request(server.url, 'POST', LOGIN, { body: passwordLogin('eve', 'eve-password') });
    await assertRefusal(limited, { status: 429, errcode: 'M_LIMIT_EXCEEDED', method: 'POST', path: LOGIN });
    assert.equal(typeof limited.body.retry_after_ms, 'number');
    assert.ok(limited.body.retry_after_ms > 0, String(limited.body.retry_after_ms));
    assert.deepEqual(await snapshotTables(server.app.db, SESSION_TABLES), before);
  });
});

describe('failed-attempt rate limit', () => {
  let server: TestServer;
  before(async () => {
    const relaxed = { per_second: 1000, burst_count: 10000 };
    server = await startTestServer({ rc_login: { address: relaxed, account: relaxed, failed_attempts: { per_second: 0.1, burst_count: 2 } } });
    await registerUser(server.url, 'fay', { password: 'fay-password' });
  });
  after(() => server.stop());

  it('stops password guessing on one account, even with the right password', async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const result = await request(server.url, 'POST', LOGIN, { body: passwordLogin('fay', `guess-${attempt}`) });
      assert.equal(result.status, 403);
    }
    const limited = await request(server.url, 'POST', LOGIN, { body: passwordLogin('fay', 'fay-password') });
    await assertRefusal(limited, { status: 429, errcode: 'M_LIMIT_EXCEEDED', method: 'POST', path: LOGIN });
    assert.equal(typeof limited.body.retry_after_ms, 'number');
  });
});
