import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { curve25519PublicKey } from '../support/e2ee-keys.ts';

const ALGORITHM = 'm.megolm_backup.v1.curve25519-aes-sha2';
const ROOM = '!room:localhost';
let server: TestServer;
let alice: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
});
after(() => server.stop());

async function call(method: string, path: string, body?: unknown, user = alice) {
  const result = await request(server.url, method, `/_matrix/client/v3/room_keys${path}`, { token: user.accessToken, body });
  return { ...result, path: `/_matrix/client/v3/room_keys${path}` };
}
async function ok(method: string, path: string, body?: unknown, user = alice) {
  const result = await call(method, path, body, user);
  assert.equal(result.status, 200, `${method} ${path}: ${JSON.stringify(result.body)}`);
  await assertMatchesSpec({ method, path: result.path, status: 200, body: result.body });
  return result.body;
}
const sessionKey = (first: number, forwarded: number, verified: boolean, tag = 'x') => ({
  first_message_index: first,
  forwarded_count: forwarded,
  is_verified: verified,
  session_data: { ephemeral: 'eph', ciphertext: `ciphertext-${tag}`, mac: 'mac' },
});
const room = (roomId: string) => encodeURIComponent(roomId);

test('backup versions: create, read latest and by version, update auth_data, delete', async () => {
  const missing = await call('GET', '/version');
  await assertRefusal(missing, { status: 404, errcode: 'M_NOT_FOUND', method: 'GET', path: missing.path });

  const authData = { public_key: curve25519PublicKey(), signatures: {} };
  const { version } = await ok('POST', '/version', { algorithm: ALGORITHM, auth_data: authData });
  assert.equal(typeof version, 'string');
  assert.deepEqual(await ok('GET', '/version'), { algorithm: ALGORITHM, auth_data: authData, count: 0, etag: '0', version });
  assert.deepEqual(await ok('GET', `/version/${version}`), await ok('GET', '/version'));

  const newAuth = { public_key: authData.public_key, signatures: { [alice.userId]: { 'ed25519:DEV': 'sig' } } };
  await ok('PUT', `/version/${version}`, { algorithm: ALGORITHM, auth_data: newAuth, version });
  assert.deepEqual((await ok('GET', '/version')).auth_data, newAuth);

  const refusals: [string, string, unknown, number, string][] = [
    ['POST', '/version', { algorithm: 'm.other', auth_data: authData }, 400, 'M_INVALID_PARAM'],
    ['POST', '/version', { algorithm: ALGORITHM, auth_data: {} }, 400, 'M_INVALID_PARAM'],
    ['POST', '/version', { algorithm: ALGORITHM }, 400, 'M_MISSING_PARAM'],
    ['PUT', `/version/${version}`, { algorithm: ALGORITHM, auth_data: newAuth, version: '999' }, 400, 'M_INVALID_PARAM'],
    ['PUT', '/version/999', { algorithm: ALGORITHM, auth_data: newAuth }, 404, 'M_NOT_FOUND'],
    ['GET', '/version/999', undefined, 404, 'M_NOT_FOUND'],
    ['GET', '/version/not-a-version', undefined, 404, 'M_NOT_FOUND'],
    ['DELETE', '/version/999', undefined, 404, 'M_NOT_FOUND'],
  ];
  for (const [method, path, body, status, errcode] of refusals) {
    const result = await call(method, path, body);
    await assertRefusal(result, { status, errcode, method, path: result.path, checkSpec: method !== 'POST' });
  }

  await ok('DELETE', `/version/${version}`);
  await ok('DELETE', `/version/${version}`);
  const gone = await call('GET', `/version/${version}`);
  assert.equal(gone.status, 404);
  const { version: next } = await ok('POST', '/version', { algorithm: ALGORITHM, auth_data: authData });
  assert.notEqual(next, version, 'version numbers are never reused');
});

test('room keys at all three levels, the replacement rule, etag and count', async () => {
  const { version } = await ok('POST', '/version', { algorithm: ALGORITHM, auth_data: { public_key: curve25519PublicKey() } });
  const q = `?version=${version}`;

  const put1 = await ok('PUT', `/keys/${room(ROOM)}/s1${q}`, sessionKey(5, 1, false, 'a'));
  assert.equal(put1.count, 1);
  const put2 = await ok('PUT', `/keys/${room(ROOM)}${q}`, { sessions: { s2: sessionKey(0, 0, false) } });
  assert.equal(put2.count, 2);
  assert.notEqual(put2.etag, put1.etag);
  const put3 = await ok('PUT', `/keys${q}`, { rooms: { '!other:localhost': { sessions: { s3: sessionKey(0, 0, true) } } } });
  assert.equal(put3.count, 3);

  // Worse keys do not replace: unverified over verified? no; higher index; higher forwarded count.
  const worse = await ok('PUT', `/keys/${room(ROOM)}/s1${q}`, sessionKey(6, 0, false, 'worse-index'));
  assert.equal(worse.etag, put3.etag, 'nothing changed, so the etag stays');
  await ok('PUT', `/keys/${room(ROOM)}/s1${q}`, sessionKey(5, 2, false, 'worse-forwarded'));
  await ok('PUT', `/keys/${room('!other:localhost')}/s3${q}`, sessionKey(0, 0, false, 'unverified'));
  assert.equal((await ok('GET', `/keys/${room(ROOM)}/s1${q}`)).session_data.ciphertext, 'ciphertext-a');
  assert.equal((await ok('GET', `/keys/${room('!other:localhost')}/s3${q}`)).is_verified, true);

  // Better keys replace: verified wins; then lower index; then fewer forwards.
  await ok('PUT', `/keys/${room(ROOM)}/s1${q}`, sessionKey(9, 9, true, 'verified'));
  assert.equal((await ok('GET', `/keys/${room(ROOM)}/s1${q}`)).session_data.ciphertext, 'ciphertext-verified');
  await ok('PUT', `/keys/${room(ROOM)}/s1${q}`, sessionKey(3, 9, true, 'lower-index'));
  await ok('PUT', `/keys/${room(ROOM)}/s1${q}`, sessionKey(3, 1, true, 'fewer-forwards'));
  assert.deepEqual(await ok('GET', `/keys/${room(ROOM)}/s1${q}`), sessionKey(3, 1, true, 'fewer-forwards'));

  const all = await ok('GET', `/keys${q}`);
  assert.deepEqual(Object.keys(all.rooms).sort(), ['!other:localhost', ROOM].sort());
  assert.deepEqual(Object.keys((await ok('GET', `/keys/${room(ROOM)}${q}`)).sessions).sort(), ['s1', 's2']);
  assert.deepEqual(await ok('GET', `/keys/${room('!empty:localhost')}${q}`), { sessions: {} });
  const noSession = await call('GET', `/keys/${room(ROOM)}/nope${q}`);
  await assertRefusal(noSession, { status: 404, errcode: 'M_NOT_FOUND', method: 'GET', path: noSession.path });
  const info = await ok('GET', `/version/${version}`);
  assert.equal(info.count, 3);

  const del1 = await ok('DELETE', `/keys/${room(ROOM)}/s1${q}`);
  assert.equal(del1.count, 2);
  assert.notEqual(del1.etag, info.etag);
  assert.equal((await ok('DELETE', `/keys/${room(ROOM)}${q}`)).count, 1);
  assert.equal((await ok('DELETE', `/keys${q}`)).count, 0);
  assert.deepEqual(await ok('GET', `/keys${q}`), { rooms: {} });
});

test('uploads to an old backup version get M_WRONG_ROOM_KEYS_VERSION with the current version', async () => {
  const { version: old } = await ok('POST', '/version', { algorithm: ALGORITHM, auth_data: { public_key: curve25519PublicKey() } });
  const { version: current } = await ok('POST', '/version', { algorithm: ALGORITHM, auth_data: { public_key: curve25519PublicKey() } });
  for (const path of [`/keys/${room(ROOM)}/s1?version=${old}`, `/keys/${room(ROOM)}?version=${old}`, `/keys?version=${old}`, `/keys?version=12345`]) {
    const body = path.startsWith(`/keys/${room(ROOM)}/`) ? sessionKey(0, 0, false) : path.startsWith(`/keys/`) ? { sessions: {} } : { rooms: {} };
    const result = await call('PUT', path, body);
    await assertRefusal(result, { status: 403, errcode: 'M_WRONG_ROOM_KEYS_VERSION', method: 'PUT', path: result.path });
    assert.equal(result.body.current_version, current);
  }
  const count = await server.app.db.selectFrom('room_key_backup_keys').selectAll().where('user_id', '=', alice.userId).execute();
  assert.deepEqual(count, []);
});

test('bad and oversized uploads are refused; other users cannot see the backup', async () => {
  const bob = await registerUser(server.url, 'bob');
  const nobackup = await call('PUT', `/keys?version=1`, { rooms: {} }, bob);
  await assertRefusal(nobackup, { status: 404, errcode: 'M_NOT_FOUND', method: 'PUT', path: nobackup.path });
  const { version } = await ok('GET', '/version');
  const bobRead = await call('GET', `/keys?version=${version}`, undefined, bob);
  assert.equal(bobRead.status, 404);
  const q = `?version=${version}`;
  const cases: [string, unknown, number, string][] = [
    [`/keys/${room(ROOM)}/s1${q}`, { ...sessionKey(0, 0, false), first_message_index: -1 }, 400, 'M_BAD_JSON'],
    [`/keys/${room(ROOM)}/s1${q}`, { ...sessionKey(0, 0, false), is_verified: 'yes' }, 400, 'M_BAD_JSON'],
    [`/keys/${room(ROOM)}/s1${q}`, { ...sessionKey(0, 0, false), session_data: { ciphertext: 'x'.repeat(70 * 1024) } }, 413, 'M_TOO_LARGE'],
    [`/keys/${room(ROOM)}/s1`, sessionKey(0, 0, false), 400, 'M_MISSING_PARAM'],
    [`/keys${q}`, { rooms: { [ROOM]: { sessions: { s: sessionKey(0, 0, false) } } }, pad: 'x'.repeat(17 * 1024 * 1024) }, 413, 'M_TOO_LARGE'],
  ];
  for (const [path, body, status, errcode] of cases) {
    const result = await call('PUT', path, body);
    await assertRefusal(result, { status, errcode, method: 'PUT', path: result.path, checkSpec: false });
  }
});

test('text Postgres cannot store is refused as M_BAD_JSON, not a 500', async () => {
  const { version } = await ok('GET', '/version');
  const raw = `{"rooms":{"!r\\u0000:localhost":{"sessions":{}}}}`;
  const put = await request(server.url, 'PUT', `/_matrix/client/v3/room_keys/keys?version=${version}`, { token: alice.accessToken, body: raw });
  assert.equal(put.status, 400, JSON.stringify(put.body));
  assert.equal(put.body.errcode, 'M_BAD_JSON');
  const get = await call('GET', `/keys/%00/s?version=${version}`);
  assert.equal(get.status, 400, JSON.stringify(get.body));
  const del = await call('DELETE', `/keys/r/s%00?version=${version}`);
  assert.equal(del.status, 400, JSON.stringify(del.body));
  const auth = await request(server.url, 'POST', '/_matrix/client/v3/room_keys/version', {
    token: alice.accessToken,
    body: `{"algorithm":"${ALGORITHM}","auth_data":{"public_key":"k\\ud800"}}`,
  });
  assert.equal(auth.body.errcode, 'M_BAD_JSON');
});
