import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';
import { request } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { snapshotTables } from '../support/db-snapshot.ts';

const REGISTER = '/_synapse/admin/v1/register';
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function mac(secret: string, nonce: string, username: string, password: string, admin: boolean): string {
  return createHmac('sha1', secret).update([nonce, username, password, admin ? 'admin' : 'notadmin'].join('\0')).digest('hex');
}

async function nonce(server: TestServer): Promise<string> {
  const result = await request(server.url, 'GET', REGISTER);
  assert.equal(result.status, 200, JSON.stringify(result.body));
  assert.match(result.body.nonce, /^[0-9a-f]{32,}$/);
  return result.body.nonce;
}

/** Runs `npm run register-user -- ARGS` to completion; stdin is a pipe, never a terminal. */
function registerUserCommand(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.PORT;
    const child = spawn('npm', ['run', '--silent', 'register-user', '--', ...args], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.stdin.end();
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('shared-secret registration', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  async function userRow(userId: string) {
    return server.app.db.selectFrom('users').selectAll().where('user_id', '=', userId).executeTakeFirst();
  }

  it('registers an admin user with a nonce and an HMAC', async () => {
    const value = await nonce(server);
    const result = await request(server.url, 'POST', REGISTER, {
      body: { nonce: value, username: 'root', password: 'root-password', admin: true, mac: mac('test-shared-secret', value, 'root', 'root-password', true) },
    });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(result.body.user_id, '@root:localhost');
    assert.equal(result.body.home_server, 'localhost');
    assert.equal((await userRow('@root:localhost'))?.is_admin, true);

    const whoami = await request(server.url, 'GET', '/_matrix/client/v3/account/whoami', { token: result.body.access_token });
    assert.equal(whoami.status, 200);
    await assertMatchesSpec({ method: 'GET', path: '/_matrix/client/v3/account/whoami', status: 200, body: whoami.body });
    assert.equal(whoami.body.device_id, result.body.device_id);
  });

  it('refuses a reused nonce', async () => {
    const value = await nonce(server);
    const first = await request(server.url, 'POST', REGISTER, {
      body: { nonce: value, username: 'once', password: 'pw', admin: false, mac: mac('test-shared-secret', value, 'once', 'pw', false) },
    });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const before = await snapshotTables(server.app.db);
    const again = await request(server.url, 'POST', REGISTER, {
      body: { nonce: value, username: 'twice', password: 'pw', admin: false, mac: mac('test-shared-secret', value, 'twice', 'pw', false) },
    });
    assert.equal(again.status, 400, JSON.stringify(again.body));
    assert.equal(again.body.errcode, 'M_UNKNOWN');
    assert.match(again.body.error, /nonce/i);
    assert.deepEqual(await snapshotTables(server.app.db), before);
  });

  const badMacs = [
    { name: 'a MAC made with the wrong secret', sign: (n: string) => mac('wrong-secret', n, 'mallory', 'pw', false), admin: false },
    { name: 'a MAC for a non-admin sent with admin: true', sign: (n: string) => mac('test-shared-secret', n, 'mallory', 'pw', false), admin: true },
    { name: 'a MAC that is not hex', sign: () => 'zz-not-hex', admin: false },
  ];
  for (const bad of badMacs) {
    it(`refuses ${bad.name} with 403 M_FORBIDDEN, creating no user`, async () => {
      const value = await nonce(server);
      const before = await snapshotTables(server.app.db);
      const result = await request(server.url, 'POST', REGISTER, {
        body: { nonce: value, username: 'mallory', password: 'pw', admin: bad.admin, mac: bad.sign(value) },
      });
      assert.equal(result.status, 403, JSON.stringify(result.body));
      assert.equal(result.body.errcode, 'M_FORBIDDEN');
      assert.equal(typeof result.body.error, 'string');
      assert.deepEqual(await snapshotTables(server.app.db), before);
      assert.equal(await userRow('@mallory:localhost'), undefined);
    });
  }

  it('`npm run register-user` creates a user (and an admin with -a)', async () => {
    const plain = await registerUserCommand(['-u', 'cli-user', '-p', 'cli-password', '--url', server.url, '--shared-secret', 'test-shared-secret']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout.trim(), '@cli-user:localhost');
    assert.equal((await userRow('@cli-user:localhost'))?.is_admin, false);

    const admin = await registerUserCommand(['-u', 'cli-admin', '-p', 'cli-password', '-a', '--url', server.url, '--shared-secret', 'test-shared-secret']);
    assert.equal(admin.code, 0, admin.stderr);
    assert.equal((await userRow('@cli-admin:localhost'))?.is_admin, true);

    const login = await request(server.url, 'POST', '/_matrix/client/v3/login', {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'cli-admin' }, password: 'cli-password' },
    });
    assert.equal(login.status, 200, JSON.stringify(login.body));
  });

  it('`npm run register-user -c` finds the server and the secret in the config file', async () => {
    const configFile = join(server.dataDir, 'cli-config.yaml');
    const port = Number(new URL(server.url).port);
    writeFileSync(configFile, toYaml({ listeners: [{ port, bind_addresses: ['127.0.0.1'] }], registration_shared_secret: 'test-shared-secret' }));
    const result = await registerUserCommand(['-c', configFile, '-u', 'from-config', '-p', 'pw']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), '@from-config:localhost');
  });

  it('`npm run register-user` fails with the server\'s message when the user exists or the secret is wrong', async () => {
    const taken = await registerUserCommand(['-u', 'cli-user', '-p', 'pw', '--url', server.url, '--shared-secret', 'test-shared-secret']);
    assert.notEqual(taken.code, 0);
    assert.match(taken.stderr, /User ID already taken/);

    const before = await snapshotTables(server.app.db, ['users']);
    const wrong = await registerUserCommand(['-u', 'intruder', '-p', 'pw', '--url', server.url, '--shared-secret', 'not-the-secret']);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /HMAC incorrect/);
    assert.deepEqual(await snapshotTables(server.app.db, ['users']), before);
  });

  it('`npm run register-user` without -p refuses clearly when not run in a terminal', async () => {
    const before = await snapshotTables(server.app.db, ['users']);
    const result = await registerUserCommand(['-u', 'no-password', '--url', server.url, '--shared-secret', 'test-shared-secret']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /no password given: pass -p PASSWORD/);
    assert.deepEqual(await snapshotTables(server.app.db, ['users']), before);
  });
});

describe('shared-secret registration with the generated secret', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ registration_shared_secret: undefined });
  });
  after(() => server.stop());

  it('the server writes <data_dir>/registration_shared_secret and register-user reads it from the config', async () => {
    const secretFile = join(server.dataDir, 'registration_shared_secret');
    assert.ok(existsSync(secretFile), 'the server generated a secret on first start');
    assert.ok(readFileSync(secretFile, 'utf8').trim().length >= 24);
    assert.equal(statSync(secretFile).mode & 0o077, 0, 'only the owner may read the secret');

    const configFile = join(server.dataDir, 'cli-config.yaml');
    const port = Number(new URL(server.url).port);
    writeFileSync(configFile, toYaml({ data_dir: server.dataDir, listeners: [{ port, bind_addresses: ['0.0.0.0'] }] }));
    const result = await registerUserCommand(['-c', configFile, '-u', 'generated', '-p', 'pw']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), '@generated:localhost');
  });
});
