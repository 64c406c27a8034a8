import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { request, registerUser, type HttpResult } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { snapshotTables } from '../support/db-snapshot.ts';
import { verifyJsonSignature } from '../../server/rooms/signing.ts';
import { loadOrCreateSigningKey } from '../../server/signing-key.ts';

const LOGIN = '/_matrix/client/v3/login';
/** Synapse's key file: `ed25519 a_XXXX <unpadded base64 of the 32-byte seed>`. */
const SYNAPSE_KEY_LINE = /^ed25519 a_[A-Za-z0-9]{4} [A-Za-z0-9+/]{43}\n$/;

/** Sends a body with chunked encoding (no content-length), so the limit must hold while reading. */
function postChunked(url: string, path: string, chunk: Buffer, chunks: number): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, url), { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (data: string) => (text += data));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    const writeMore = (left: number) => {
      if (left === 0 || req.destroyed) return req.end();
      if (req.write(chunk)) writeMore(left - 1);
      else req.once('drain', () => writeMore(left - 1));
    };
    writeMore(chunks);
  });
}

describe('HTTP behaviour', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      listeners: [
        { port: 0, type: 'http' },
        { port: 0, type: 'metrics' },
      ],
      enable_metrics: true,
    });
  });
  after(() => server.stop());

  const refusals: Array<{ name: string; method: string; path: string; body?: unknown; headers?: Record<string, string>; status: number; errcode: string; spec: boolean; mentions?: string }> = [
    { name: 'an unknown endpoint', method: 'GET', path: '/_matrix/client/v3/no/such/endpoint', status: 404, errcode: 'M_UNRECOGNIZED', spec: false },
    { name: 'a path outside the API', method: 'POST', path: '/nothing-here', body: {}, status: 404, errcode: 'M_UNRECOGNIZED', spec: false },
    { name: 'a known path with the wrong method', method: 'PUT', path: LOGIN, body: {}, status: 405, errcode: 'M_UNRECOGNIZED', spec: false },
    { name: 'DELETE on /register', method: 'DELETE', path: '/_matrix/client/v3/register', status: 405, errcode: 'M_UNRECOGNIZED', spec: false },
    { name: 'malformed JSON', method: 'POST', path: LOGIN, body: '{"type": "m.login.password",', status: 400, errcode: 'M_NOT_JSON', spec: true },
    { name: 'a JSON array where an object belongs', method: 'POST', path: LOGIN, body: '[1,2]', status: 400, errcode: 'M_BAD_JSON', spec: true },
    { name: 'a wrong type for type', method: 'POST', path: LOGIN, body: { type: 42 }, status: 400, errcode: 'M_BAD_JSON', spec: true, mentions: "'type'" },
    {
      name: 'a wrong type for a nested field',
      method: 'POST',
      path: LOGIN,
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: ['alice'] }, password: 'x' },
      status: 400,
      errcode: 'M_BAD_JSON',
      spec: true,
      mentions: "'identifier.user'",
    },
    {
      name: 'a wrong type for inhibit_login',
      method: 'POST',
      path: '/_matrix/client/v3/register',
      body: { username: 'typo', inhibit_login: 'yes' },
      status: 400,
      errcode: 'M_BAD_JSON',
      spec: true,
      mentions: "'inhibit_login'",
    },
    { name: 'a body over 1 MiB', method: 'POST', path: LOGIN, body: JSON.stringify({ type: 'm.login.password', pad: 'x'.repeat(1024 * 1024) }), status: 413, errcode: 'M_TOO_LARGE', spec: false },
  ];
  for (const refusal of refusals) {
    it(`answers ${refusal.name} with ${refusal.status} ${refusal.errcode} and changes nothing`, async () => {
      const before = await snapshotTables(server.app.db);
      const result = await request(server.url, refusal.method, refusal.path, { body: refusal.body, headers: refusal.headers });
      await assertRefusal(result, { status: refusal.status, errcode: refusal.errcode, method: refusal.method, path: refusal.path, checkSpec: refusal.spec });
      if (refusal.mentions) assert.ok(result.body.error.includes(refusal.mentions), result.body.error);
      assert.ok(result.headers.get('x-request-id'), 'x-request-id');
      assert.deepEqual(await snapshotTables(server.app.db), before);
    });
  }

  it('enforces the body limit while reading a chunked body', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const result = await postChunked(server.url, LOGIN, chunk, 20);
    assert.equal(result.status, 413);
    assert.equal(result.body.errcode, 'M_TOO_LARGE');
  });

  it('names the allowed methods on a 405', async () => {
    for (const method of ['PUT', 'PATCH']) {
      const result = await request(server.url, method, LOGIN, { body: {} });
      await assertRefusal(result, { status: 405, errcode: 'M_UNRECOGNIZED', method, path: LOGIN, checkSpec: false });
      assert.deepEqual(result.headers.get('allow')?.split(/,\s*/).sort(), ['GET', 'HEAD', 'POST'], method);
    }
  });

  it('answers a CORS preflight for any origin', async () => {
    const result = await request(server.url, 'OPTIONS', LOGIN, {
      headers: { origin: 'https://app.example.org', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    assert.ok(result.status === 200 || result.status === 204, String(result.status));
    assert.equal(result.headers.get('access-control-allow-origin'), '*');
    const methods = (result.headers.get('access-control-allow-methods') ?? '').split(',').map((method) => method.trim());
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS']) assert.ok(methods.includes(method), method);
    const headers = (result.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(',').map((header) => header.trim());
    for (const header of ['x-requested-with', 'content-type', 'authorization']) assert.ok(headers.includes(header), header);
    assert.ok(result.headers.get('x-request-id'));
  });

  it('puts the allow-origin header on normal responses and errors', async () => {
    for (const path of ['/_matrix/client/versions', '/_matrix/client/v3/no/such/endpoint', '/_matrix/client/v3/account/whoami']) {
      const result = await request(server.url, 'GET', path, { headers: { origin: 'https://app.example.org' } });
      assert.equal(result.headers.get('access-control-allow-origin'), '*', path);
    }
  });

  it('serves /_matrix/client/versions and the well-known documents', async () => {
    const versions = await request(server.url, 'GET', '/_matrix/client/versions');
    assert.equal(versions.status, 200);
    await assertMatchesSpec({ method: 'GET', path: '/_matrix/client/versions', status: 200, body: versions.body });
    assert.ok(versions.body.versions.includes('v1.11'));

    const client = await request(server.url, 'GET', '/.well-known/matrix/client');
    assert.equal(client.status, 200);
    await assertMatchesSpec({ method: 'GET', path: '/.well-known/matrix/client', status: 200, body: client.body });
    assert.equal(typeof client.body['m.homeserver'].base_url, 'string');

    const federation = await request(server.url, 'GET', '/.well-known/matrix/server');
    assert.equal(federation.status, 200);
    await assertMatchesSpec({ method: 'GET', path: '/.well-known/matrix/server', status: 200, body: federation.body, api: 'server-server' });
  });

  it('reports capabilities with room versions 10 and 11, default 11', async () => {
    const alice = await registerUser(server.url, 'alice');
    const result = await request(server.url, 'GET', '/_matrix/client/v3/capabilities', { token: alice.accessToken });
    assert.equal(result.status, 200);
    await assertMatchesSpec({ method: 'GET', path: '/_matrix/client/v3/capabilities', status: 200, body: result.body });
    const versions = result.body.capabilities['m.room_versions'];
    assert.equal(versions.default, '11');
    assert.deepEqual(versions.available, { '10': 'stable', '11': 'stable' });
  });

  it('publishes a self-signed server key that matches the key file', async () => {
    const result = await request(server.url, 'GET', '/_matrix/key/v2/server');
    assert.equal(result.status, 200);
    await assertMatchesSpec({ method: 'GET', path: '/_matrix/key/v2/server', status: 200, body: result.body, api: 'server-server' });
    assert.equal(result.body.server_name, 'localhost');
    assert.ok(result.body.valid_until_ts > Date.now());
    const keyIds = Object.keys(result.body.verify_keys);
    assert.equal(keyIds.length, 1);
    const keyId = keyIds[0];
    assert.ok(verifyJsonSignature(result.body, 'localhost', keyId, result.body.verify_keys[keyId].key), 'self-signature verifies');
    const tampered = { ...result.body, valid_until_ts: result.body.valid_until_ts + 1 };
    assert.equal(verifyJsonSignature(tampered, 'localhost', keyId, result.body.verify_keys[keyId].key), false);

    const keyFile = join(server.dataDir, 'localhost.signing.key');
    const file = readFileSync(keyFile, 'utf8');
    assert.match(file, SYNAPSE_KEY_LINE);
    assert.equal(statSync(keyFile).mode & 0o077, 0, 'only the owner may read the signing key');
    assert.equal(`ed25519:${file.split(' ')[1]}`, keyId);
  });

  it('answers key queries (notary) for its own server only, and refuses malformed ones', async () => {
    const own = await request(server.url, 'POST', '/_matrix/key/v2/query', { body: { server_keys: { localhost: {}, 'elsewhere.example': {} } } });
    assert.equal(own.status, 200);
    await assertMatchesSpec({ method: 'POST', path: '/_matrix/key/v2/query', status: 200, body: own.body, api: 'server-server' });
    assert.deepEqual(own.body.server_keys.map((keys: any) => keys.server_name), ['localhost'], 'an unknown server is left out');
    const keyId = Object.keys(own.body.server_keys[0].verify_keys)[0];
    assert.ok(verifyJsonSignature(own.body.server_keys[0], 'localhost', keyId, own.body.server_keys[0].verify_keys[keyId].key));
    const one = await request(server.url, 'GET', '/_matrix/key/v2/query/localhost');
    assert.equal(one.status, 200);
    await assertMatchesSpec({ method: 'GET', path: '/_matrix/key/v2/query/localhost', status: 200, body: one.body, api: 'server-server' });
    assert.equal(one.body.server_keys.length, 1);
    assert.deepEqual((await request(server.url, 'GET', '/_matrix/key/v2/query/elsewhere.example')).body, { server_keys: [] });
    for (const body of [{}, { server_keys: [] }, { server_keys: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`s${i}.example`, {}])) }]) {
      const refused = await request(server.url, 'POST', '/_matrix/key/v2/query', { body });
      assert.equal(refused.status, 400, JSON.stringify(body).slice(0, 80));
      assert.ok(['M_BAD_JSON', 'M_MISSING_PARAM', 'M_INVALID_PARAM'].includes(refused.body.errcode), refused.body.errcode);
    }
    const wrongMethod = await request(server.url, 'PUT', '/_matrix/key/v2/query', { body: {} });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.body.errcode, 'M_UNRECOGNIZED');
  });

  it('always writes key files Synapse can read (key version of letters and digits)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-keys-'));
    try {
      for (let index = 0; index < 200; index++) {
        const path = join(dir, `${index}.signing.key`);
        const key = loadOrCreateSigningKey(path);
        assert.match(readFileSync(path, 'utf8'), SYNAPSE_KEY_LINE);
        assert.deepEqual(loadOrCreateSigningKey(path), key, 'the same key is loaded again');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers /health with 200 OK', async () => {
    const result = await request(server.url, 'GET', '/health');
    assert.equal(result.status, 200);
    assert.equal(result.body, 'OK');
    assert.ok(result.headers.get('x-request-id'));
  });

  it('tags every response with a distinct x-request-id', async () => {
    const responses: HttpResult[] = [
      await request(server.url, 'GET', '/_matrix/client/versions'),
      await request(server.url, 'GET', '/_matrix/client/v3/account/whoami'),
      await request(server.url, 'PUT', LOGIN, { body: {} }),
      await request(server.url, 'OPTIONS', LOGIN, { headers: { origin: 'https://x.example', 'access-control-request-method': 'POST' } }),
      await request(server.url, 'GET', '/no-such-thing'),
    ];
    const ids = responses.map((response) => response.headers.get('x-request-id'));
    for (const id of ids) assert.ok(id && id.length >= 8, String(id));
    assert.equal(new Set(ids).size, ids.length);
  });

  it('serves Prometheus metrics on the metrics listener', async () => {
    assert.ok(server.metricsUrl, 'metrics listener started');
    await request(server.url, 'GET', '/_matrix/client/versions');
    const response = await fetch(`${server.metricsUrl}/metrics`);
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.match(text, /palisade_http_requests_total\{[^}]*route="\/_matrix\/client\/versions"[^}]*\} \d+/);
    // The metrics listener serves metrics only, not the client API.
    assert.equal((await fetch(`${server.metricsUrl}/_matrix/client/versions`)).status, 404);
  });
});

describe('logging', () => {
  let server: TestServer;
  const captured: string[] = [];
  before(async () => {
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => captured.push(chunk.toString('utf8')));
    server = await startTestServer({}, { logDestination: stream });
  });
  after(() => server.stop());

  it('never logs an access token, a password or the shared secret', async () => {
    const secrets: string[] = ['test-shared-secret'];
    const alice = await registerUser(server.url, 'alice', { password: 'alice-secret-password-1' });
    secrets.push(alice.accessToken, alice.password);
    const login = await request(server.url, 'POST', LOGIN, {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: alice.password },
    });
    secrets.push(login.body.access_token);
    await request(server.url, 'POST', LOGIN, { body: { type: 'm.login.password', user: 'alice', password: 'wrong-password-guess-2' } });
    secrets.push('wrong-password-guess-2');
    await request(server.url, 'POST', LOGIN, { body: '{"password": "half-json-password-3"' });
    secrets.push('half-json-password-3');
    await request(server.url, 'GET', `/_matrix/client/v3/account/whoami?access_token=${alice.accessToken}`);
    await request(server.url, 'GET', '/_matrix/client/v3/account/whoami', { token: 'pal_made-up-token-4' });
    secrets.push('pal_made-up-token-4');
    const challenge = await request(server.url, 'POST', '/_matrix/client/v3/account/password', { token: alice.accessToken, body: { new_password: 'new-secret-5' } });
    await request(server.url, 'POST', '/_matrix/client/v3/account/password', {
      token: alice.accessToken,
      body: { new_password: 'new-secret-5', auth: { type: 'm.login.password', user: 'alice', password: alice.password, session: challenge.body.session } },
    });
    secrets.push('new-secret-5');
    await request(server.url, 'POST', '/_matrix/client/v3/register', { body: { username: 'bob', password: 'bob-register-secret-6', auth: { type: 'm.login.dummy' } } });
    secrets.push('bob-register-secret-6');

    const log = captured.join('');
    assert.ok(log.includes('"msg":"request"'), 'requests were logged');
    for (const secret of secrets) assert.ok(!log.includes(secret), `a secret reached the log: ${secret.slice(0, 6)}…`);
  });
});

describe('text Postgres cannot store', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  it('a NUL or a lone surrogate anywhere in a request is M_BAD_JSON, never a 500', async () => {
    const user = await registerUser(server.url, 'nul');
    const cases: Array<[string, string, string, unknown]> = [
      ['body value', 'PUT', `/_matrix/client/v3/devices/${user.deviceId}`, '{"display_name":"a\\u0000b"}'],
      ['body key', 'PUT', `/_matrix/client/v3/devices/${user.deviceId}`, '{"x\\u0000":1}'],
      ['lone surrogate', 'PUT', `/_matrix/client/v3/devices/${user.deviceId}`, '{"display_name":"\\ud800"}'],
      ['path parameter', 'GET', '/_matrix/client/v3/devices/AB%00CD', undefined],
    ];
    for (const [name, method, path, body] of cases) {
      const result = await request(server.url, method, path, { token: user.accessToken, body });
      assert.equal(result.status, 400, `${name}: ${JSON.stringify(result.body)}`);
      assert.equal(result.body.errcode, 'M_BAD_JSON', name);
    }
  });
});
