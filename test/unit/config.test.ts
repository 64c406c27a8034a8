import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, describeConfig, loadConfig, type ConfigFile } from '../../server/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'palisade-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** The problems a config is refused with; fails the test when it is accepted. */
function problemsOf(options: { values?: unknown; file?: string; env?: NodeJS.ProcessEnv }): string[] {
  try {
    loadConfig({ values: options.values as ConfigFile, file: options.file, env: options.env ?? {} });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.ok(error.message.startsWith('invalid configuration'), error.message);
    for (const problem of error.problems) assert.ok(error.message.includes(problem));
    return error.problems;
  }
  assert.fail('the config was accepted');
}

describe('config', () => {
  it('has safe defaults with no file: registration closed, 127.0.0.1:8008, server_name localhost', () => {
    const config = loadConfig({ env: {} });
    assert.equal(config.server_name, 'localhost');
    assert.equal(config.enable_registration, false);
    assert.equal(config.registration_requires_token, false);
    assert.equal(config.allow_guest_access, false);
    assert.equal(config.enable_metrics, false);
    assert.deepEqual(
      config.listeners.map((listener) => ({ port: listener.port, bind: listener.bind_addresses, type: listener.type })),
      [{ port: 8008, bind: ['127.0.0.1'], type: 'http' }],
    );
    assert.equal(config.public_baseurl, 'http://localhost:8008/');
    assert.equal(config.database_url, undefined, 'embedded database');
    assert.equal(config.redis_url, undefined, 'in-process jobs');
    assert.equal(config.max_upload_size, 50 * 1024 * 1024);
    assert.equal(config.signing_key_path, resolve('data', 'localhost.signing.key'));
    assert.ok(Object.isFrozen(config));
  });

  it('reads a YAML file with Synapse key names', () => {
    const file = writeConfig(
      'full.yaml',
      [
        'server_name: chat.example.org',
        'public_baseurl: https://matrix.example.org',
        'data_dir: /var/lib/palisade',
        'listeners:',
        '  - port: 8448',
        '    bind_addresses: ["0.0.0.0"]',
        '    x_forwarded: true',
        '    resources: [{ names: [client, federation], compress: false }]',
        '  - { port: 9000, type: metrics }',
        'enable_metrics: true',
        'enable_registration: true',
        'registration_requires_token: true',
        'database:',
        '  name: psycopg2',
        '  args: { user: synapse, password: "p@ss", host: db.internal, port: 5433, database: palisade }',
        'redis: { enabled: true, host: redis.internal, port: 6380 }',
        'rc_login:',
        '  address: { per_second: 1, burst_count: 5 }',
        'max_upload_size: "10M"',
        '',
      ].join('\n'),
    );
    const config = loadConfig({ file, env: {} });
    assert.equal(config.server_name, 'chat.example.org');
    assert.equal(config.public_baseurl, 'https://matrix.example.org/');
    assert.equal(config.signing_key_path, '/var/lib/palisade/chat.example.org.signing.key');
    assert.equal(config.listeners.length, 2);
    assert.deepEqual(config.listeners[0].bind_addresses, ['0.0.0.0']);
    assert.equal(config.listeners[0].x_forwarded, true);
    assert.equal(config.listeners[1].type, 'metrics');
    assert.equal(config.database_url, 'postgres://synapse:p%40ss@db.internal:5433/palisade');
    assert.equal(config.redis_url, 'redis://redis.internal:6380');
    assert.deepEqual(config.rc_login.address, { per_second: 1, burst_count: 5 });
    assert.deepEqual(config.rc_login.account, { per_second: 0.17, burst_count: 3 }, 'unset parts keep their defaults');
    assert.equal(config.max_upload_size, 10 * 1024 * 1024);
  });

  it('treats an empty file as the defaults', () => {
    assert.equal(loadConfig({ file: writeConfig('empty.yaml', ''), env: {} }).server_name, 'localhost');
  });

  it('accepts sizes as bytes or with K/M/G suffixes', () => {
    for (const [value, bytes] of [['50M', 52428800], ['512K', 524288], ['1G', 1073741824], ['100', 100], [2048, 2048]] as const) {
      assert.equal(loadConfig({ values: { max_upload_size: value }, env: {} }).max_upload_size, bytes, String(value));
    }
    const problems = problemsOf({ values: { max_upload_size: '50 megabytes' } });
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^max_upload_size: .*"50M"/);
  });

  it('refuses an unknown key, naming it', () => {
    const top = problemsOf({ values: { enable_registrations: true } });
    assert.equal(top.length, 1);
    assert.match(top[0], /enable_registrations/);
    const nested = problemsOf({ values: { rc_login: { adress: { per_second: 1, burst_count: 1 } } } });
    assert.equal(nested.length, 1);
    assert.match(nested[0], /^rc_login: .*adress/);
  });

  it('refuses a value of the wrong type, naming the key', () => {
    const problems = problemsOf({ values: { enable_registration: 'yes' } });
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^enable_registration: /);
    const nested = problemsOf({ values: { listeners: [{ port: 'eighty' }] } });
    assert.match(nested[0], /^listeners\.0\.port: /);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({
      values: { server_name: 'not a name!', max_upload_size: 'lots', surprise: 1, rc_message: { per_second: -1, burst_count: 10 }, enable_registration: true },
    });
    for (const key of ['server_name', 'max_upload_size', 'surprise', 'rc_message.per_second', 'enable_registration']) {
      assert.ok(problems.some((problem) => problem.includes(key)), `${key} missing from ${JSON.stringify(problems)}`);
    }
  });

  it('refuses enable_registration: true on its own, and accepts it with a check', () => {
    const problems = problemsOf({ values: { enable_registration: true } });
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^enable_registration: .*registration_requires_token/);
    assert.equal(loadConfig({ values: { enable_registration: true, registration_requires_token: true }, env: {} }).enable_registration, true);
    assert.equal(loadConfig({ values: { enable_registration: true, enable_registration_without_verification: true }, env: {} }).enable_registration, true);
  });

  it('refuses both a shared secret and a shared secret path', () => {
    const problems = problemsOf({ values: { registration_shared_secret: 'a', registration_shared_secret_path: '/b' } });
    assert.match(problems[0], /^registration_shared_secret_path: /);
  });

  it('lets DATABASE_URL, REDIS_URL and PORT override the file', () => {
    const file = writeConfig(
      'overridden.yaml',
      'listeners: [{ port: 8008 }, { port: 9000, type: metrics }]\ndatabase: { name: psycopg2, args: { host: db.internal } }\nredis: { enabled: true }\n',
    );
    const env = { DATABASE_URL: 'postgres://u@10.0.0.1/palisade', REDIS_URL: 'redis://10.0.0.2:6379', PORT: '8080' };
    const config = loadConfig({ file, env });
    assert.equal(config.database_url, env.DATABASE_URL);
    assert.equal(config.redis_url, env.REDIS_URL);
    assert.equal(config.listeners[0].port, 8080, 'the first http listener takes PORT');
    assert.equal(config.listeners[1].port, 9000, 'the metrics listener keeps its port');
    assert.equal(config.public_baseurl, 'http://localhost:8080/');
  });

  it('describes itself for the start-up log without passwords', () => {
    const config = loadConfig({
      values: { registration_shared_secret: 'shared-secret-value' },
      env: { DATABASE_URL: 'postgres://palisade:db-password@db.internal/palisade', REDIS_URL: 'redis://:redis-password@redis.internal:6379' },
    });
    const text = JSON.stringify(describeConfig(config));
    for (const secret of ['db-password', 'redis-password', 'shared-secret-value']) assert.ok(!text.includes(secret), secret);
    assert.ok(text.includes('db.internal'));
  });

  it('refuses PORT=abc', () => {
    const problems = problemsOf({ values: {}, env: { PORT: 'abc' } });
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^PORT: .*"abc"/);
  });

  it('names the file when it is missing or not YAML', () => {
    const missing = join(dir, 'nope.yaml');
    assert.match(problemsOf({ file: missing })[0], /nope\.yaml/);
    const broken = writeConfig('broken.yaml', 'listeners: [\n  port: 1\n');
    assert.match(problemsOf({ file: broken })[0], /broken\.yaml is not valid YAML/);
  });

  it('takes appservice_timeouts as durations, defaulting to 10 s for pings and 30 s for transactions', () => {
    assert.deepEqual(loadConfig({ env: {} }).appservice_timeouts, { ping: 10_000, transaction: 30_000 });
    assert.deepEqual(loadConfig({ values: { appservice_timeouts: { ping: '500ms' } }, env: {} }).appservice_timeouts, { ping: 500, transaction: 30_000 });
    assert.match(problemsOf({ values: { appservice_timeouts: { ping: 'soon' } } }).join('\n'), /appservice_timeouts\.ping/);
    assert.match(problemsOf({ values: { appservice_timeouts: { query: 1000 } } }).join('\n'), /appservice_timeouts/);
  });
});
