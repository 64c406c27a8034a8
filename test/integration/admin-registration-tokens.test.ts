import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type HttpResult, type TestUser } from '../support/http.ts';
import { assertMatchesAdminApi } from '../support/admin-api-schema.ts';
import { snapshotTables } from '../support/db-snapshot.ts';

let server: TestServer;
let root: TestUser;
let mallory: TestUser;
const API = '/_palisade/admin/v1';
const REGISTER = '/_matrix/client/v3/register';

before(async () => {
  server = await startTestServer({ registration_requires_token: true, enable_registration_without_verification: false });
  root = await registerUser(server.url, 'root', { admin: true });
  mallory = await registerUser(server.url, 'mallory');
});
after(() => server.stop());

async function admin(user: TestUser | null, method: string, path: string, body?: unknown): Promise<HttpResult> {
  const result = await request(server.url, method, `${API}${path}`, { token: user?.accessToken, body });
  await assertMatchesAdminApi({ method, path: `${API}${path}`, status: result.status, body: result.body });
  return result;
}
const tokenPath = (token: string) => `/registration_tokens/${encodeURIComponent(token)}`;
const everything = async () => ({
  accounts: await snapshotTables(server.app.db, ['users', 'registration_tokens']),
  audit: await server.app.db.selectFrom('admin_audit').select('id').orderBy('id').execute(),
});
function expectError(result: HttpResult, status: number, errcode: string, mentions?: RegExp) {
  assert.deepEqual([result.status, result.body.errcode], [status, errcode], JSON.stringify(result.body));
  if (mentions) assert.match(result.body.error, mentions);
}

/** Registers through /register's m.login.registration_token stage, as a client would. */
async function registerWithToken(username: string, token: string): Promise<HttpResult> {
  const started = await request(server.url, 'POST', REGISTER, { body: { username, password: 'pw' } });
  assert.equal(started.status, 401);
  return request(server.url, 'POST', REGISTER, { body: { username, password: 'pw', auth: { type: 'm.login.registration_token', token, session: started.body.session } } });
}

test('an admin creates a token that lets exactly uses_allowed people register, and sees it counted', async () => {
  const created = await admin(root, 'POST', '/registration_tokens', { token: 'welcome-2026', uses_allowed: 1 });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  assert.deepEqual(created.body, { token: 'welcome-2026', uses_allowed: 1, pending: 0, completed: 0, expiry_time: null });
  assert.equal((await registerWithToken('newcomer', 'welcome-2026')).status, 200);
  const read = await admin(root, 'GET', tokenPath('welcome-2026'));
  assert.deepEqual([read.body.pending, read.body.completed], [0, 1]);
  expectError(await registerWithToken('latecomer', 'welcome-2026'), 401, 'M_UNAUTHORIZED');

  const [entry] = (await admin(root, 'GET', '/audit?target_type=registration_token&target=welcome-2026')).body.entries;
  assert.deepEqual([entry.action, entry.actor, entry.before, entry.after], ['registration_token.create', root.userId, null, { uses_allowed: 1, expiry_time: null }]);
});

test('a token is generated when none is given: 16 characters by default, or the length asked for', async () => {
  const plain = await admin(root, 'POST', '/registration_tokens', {});
  assert.match(plain.body.token, /^[A-Za-z0-9]{16}$/);
  const long = await admin(root, 'POST', '/registration_tokens', { length: 64, expiry_time: Date.now() + 3_600_000 });
  assert.match(long.body.token, /^[A-Za-z0-9]{64}$/);
  assert.equal((await registerWithToken('generated', long.body.token)).status, 200);
});

test('list all, valid or invalid tokens; expire keeps a token but stops it working; update and delete', async () => {
  for (const token of ['live', 'spent', 'soon-gone']) assert.equal((await admin(root, 'POST', '/registration_tokens', { token, uses_allowed: token === 'spent' ? 0 : null })).status, 200);
  const expired = await admin(root, 'POST', `${tokenPath('soon-gone')}/expire`);
  assert.equal(expired.status, 200);
  assert.ok(expired.body.expiry_time <= Date.now());
  expectError(await registerWithToken('toolate', 'soon-gone'), 401, 'M_UNAUTHORIZED');

  const names = async (query: string) => (await admin(root, 'GET', `/registration_tokens${query}`)).body.registration_tokens.map((t: any) => t.token);
  const all = await names('');
  const valid = await names('?valid=true');
  const invalid = await names('?valid=false');
  assert.ok(valid.includes('live') && !valid.includes('spent') && !valid.includes('soon-gone'));
  assert.ok(invalid.includes('spent') && invalid.includes('soon-gone') && !invalid.includes('live'));
  assert.deepEqual([...valid, ...invalid].sort(), [...all].sort());

  const updated = await admin(root, 'PUT', tokenPath('spent'), { uses_allowed: 5 });
  assert.deepEqual([updated.body.uses_allowed, updated.body.expiry_time], [5, null]);
  assert.ok((await names('?valid=true')).includes('spent'));
  const reopened = await admin(root, 'PUT', tokenPath('soon-gone'), { expiry_time: null });
  assert.equal(reopened.body.expiry_time, null);
  assert.equal((await admin(root, 'PUT', tokenPath('live'), {})).body.token, 'live', 'an empty change changes nothing');

  assert.deepEqual((await admin(root, 'DELETE', tokenPath('live'))).body, {});
  expectError(await admin(root, 'GET', tokenPath('live')), 404, 'M_NOT_FOUND');
  const entries = (await admin(root, 'GET', '/audit?target_type=registration_token')).body.entries;
  const actions = entries.filter((e: any) => ['live', 'spent', 'soon-gone'].includes(e.target)).map((e: any) => `${e.action} ${e.target}`);
  assert.deepEqual(actions.slice(0, 5), [
    'registration_token.delete live',
    'registration_token.update soon-gone',
    'registration_token.update spent',
    'registration_token.expire soon-gone',
    'registration_token.create soon-gone',
  ], 'newest first; a change that changes nothing is not an entry');
  const deleted = entries.find((e: any) => e.action === 'registration_token.delete');
  assert.deepEqual([deleted.before.token, deleted.after], ['live', null]);
});

test('bad token input is 400 with the errcode Synapse gives, unknown tokens 404, and nothing changes', async () => {
  assert.equal((await admin(root, 'POST', '/registration_tokens', { token: 'taken' })).status, 200);
  const before = await everything();
  const cases: Array<[unknown, string, RegExp?]> = [
    [{ token: 'taken' }, 'M_INVALID_PARAM', /already exists/],
    [{ token: 'has space' }, 'M_INVALID_PARAM'],
    [{ token: '' }, 'M_INVALID_PARAM'],
    [{ token: 'x'.repeat(65) }, 'M_INVALID_PARAM'],
    [{ token: 'x'.repeat(1025) }, 'M_BAD_JSON'],
    [{ token: 'both', length: 10 }, 'M_INVALID_PARAM'],
    [{ length: 0 }, 'M_INVALID_PARAM'],
    [{ length: 65 }, 'M_INVALID_PARAM'],
    [{ length: 'ten' }, 'M_BAD_JSON'],
    [{ uses_allowed: -1 }, 'M_INVALID_PARAM'],
    [{ uses_allowed: 1.5 }, 'M_BAD_JSON'],
    [{ uses_allowed: 2 ** 31 }, 'M_INVALID_PARAM'],
    [{ expiry_time: Date.now() - 1000 }, 'M_INVALID_PARAM', /past/],
    [{ expiry_time: 'tomorrow' }, 'M_BAD_JSON'],
    [{ unknown_field: 1 }, 'M_BAD_JSON'],
  ];
  for (const [body, errcode, mentions] of cases) expectError(await admin(root, 'POST', '/registration_tokens', body), 400, errcode, mentions);
  expectError(await admin(root, 'PUT', tokenPath('taken'), { uses_allowed: -5 }), 400, 'M_INVALID_PARAM');
  expectError(await admin(root, 'PUT', tokenPath('taken'), { expiry_time: 1 }), 400, 'M_INVALID_PARAM');
  for (const [method, path] of [['GET', tokenPath('nope')], ['PUT', tokenPath('nope')], ['DELETE', tokenPath('nope')], ['POST', `${tokenPath('nope')}/expire`], ['GET', tokenPath('bad char!')]] as const) {
    expectError(await admin(root, method, path, method === 'PUT' ? { uses_allowed: 1 } : undefined), 404, 'M_NOT_FOUND');
  }
  expectError(await admin(root, 'GET', tokenPath('x'.repeat(65))), 400, 'M_INVALID_PARAM');
  expectError(await admin(root, 'GET', '/registration_tokens?valid=yes'), 400, 'M_INVALID_PARAM');
  assert.deepEqual(await everything(), before);
});

test('registration tokens are for server admins only: 403 M_FORBIDDEN, 401 without a token, nothing changed', async () => {
  assert.equal((await admin(root, 'POST', '/registration_tokens', { token: 'guarded' })).status, 200);
  const before = await everything();
  const calls: Array<[string, string, unknown?]> = [
    ['GET', '/registration_tokens'],
    ['POST', '/registration_tokens', { token: 'mine' }],
    ['GET', tokenPath('guarded')],
    ['PUT', tokenPath('guarded'), { uses_allowed: null }],
    ['POST', `${tokenPath('guarded')}/expire`],
    ['DELETE', tokenPath('guarded')],
  ];
  for (const [method, path, body] of calls) {
    expectError(await admin(mallory, method, path, body), 403, 'M_FORBIDDEN');
    expectError(await admin(null, method, path, body), 401, 'M_MISSING_TOKEN');
  }
  assert.deepEqual(await everything(), before);
});

test('admin changes are rate limited: over the limit is 429 M_LIMIT_EXCEEDED and changes nothing', async () => {
  const limited = await startTestServer({ rc_message: { per_second: 0.001, burst_count: 2 } });
  try {
    const boss = await registerUser(limited.url, 'boss', { admin: true });
    const create = (token: string) => request(limited.url, 'POST', `${API}/registration_tokens`, { token: boss.accessToken, body: { token } });
    assert.equal((await create('one')).status, 200);
    assert.equal((await create('two')).status, 200);
    const refused = await create('three');
    await assertMatchesAdminApi({ method: 'POST', path: `${API}/registration_tokens`, status: refused.status, body: refused.body });
    expectError(refused, 429, 'M_LIMIT_EXCEEDED');
    assert.ok(refused.body.retry_after_ms > 0);
    const tokens = await limited.app.db.selectFrom('registration_tokens').select('token').orderBy('token').execute();
    assert.deepEqual(tokens.map((row) => row.token), ['one', 'two']);
    const refusedUser = await request(limited.url, 'POST', `${API}/users`, { token: boss.accessToken, body: { localpart: 'x', password: 'pw' } });
    expectError(refusedUser, 429, 'M_LIMIT_EXCEEDED');
    assert.equal((await request(limited.url, 'GET', `${API}/registration_tokens`, { token: boss.accessToken })).status, 200, 'reading is not limited');
  } finally {
    await limited.stop();
  }
});
