import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerUser, request } from '../support/http.ts';
import { waitFor } from '../support/wait-for.ts';

/** The README's start line, on the embedded database: no DATABASE_URL, a fresh data directory. */
function startProcess(configPath: string, port: number): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port) };
  delete env.DATABASE_URL;
  // Otherwise the child believes it is a test file of this run.
  delete env.NODE_TEST_CONTEXT;
  return spawn(process.execPath, ['server/main.ts', '--config', configPath], { env, stdio: ['ignore', 'ignore', 'inherit'] });
}

function stopProcess(child: ChildProcess): Promise<number | null> {
  return new Promise((resolveExit) => {
    child.once('exit', (code) => resolveExit(code));
    child.kill('SIGTERM');
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', () => resolveListen()));
  const { port } = server.address() as { port: number };
  await new Promise((resolveClose) => server.close(resolveClose));
  return port;
}

test('a fresh start serves the API on the embedded database, and a second start reuses its data', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-fresh-'));
  // Run as root, embedded Postgres runs as the `postgres` user, which must reach the data directory.
  chmodSync(dir, 0o755);
  const configPath = join(dir, 'palisade.yaml');
  writeFileSync(configPath, `data_dir: ${join(dir, 'data')}\n`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const versions = () => request(base, 'GET', '/_matrix/client/versions').then((res) => (res.status === 200 ? res.body : undefined));
  try {
    const first = startProcess(configPath, port);
    const body = await waitFor('the first start to serve /versions', versions, 30_000, 200);
    assert.ok(body.versions.includes('v1.11'));

    const secret = readFileSync(join(dir, 'data', 'registration_shared_secret'), 'utf8').trim();
    const alice = await registerUser(base, 'alice', { secret, admin: true });
    const keyBefore = (await request(base, 'GET', '/_matrix/key/v2/server')).body.verify_keys;
    assert.equal(await stopProcess(first), 0, 'SIGTERM shuts down cleanly');

    const second = startProcess(configPath, port);
    try {
      await waitFor('the second start to serve /versions', versions, 30_000, 200);
      const keyAfter = (await request(base, 'GET', '/_matrix/key/v2/server')).body.verify_keys;
      assert.deepEqual(keyAfter, keyBefore, 'the signing key is kept');
      const login = await request(base, 'POST', '/_matrix/client/v3/login', {
        body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: alice.password },
      });
      assert.equal(login.status, 200, 'the account made before the restart still logs in');
    } finally {
      assert.equal(await stopProcess(second), 0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
