import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../../server/config.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

test('to_device_message_lifetime defaults to 7 days and takes ms or Synapse-style durations', () => {
  assert.equal(loadConfig({ values: {}, env: {} }).to_device_message_lifetime, 7 * DAY_MS);
  assert.equal(loadConfig({ values: { to_device_message_lifetime: '12h' }, env: {} }).to_device_message_lifetime, DAY_MS / 2);
  assert.equal(loadConfig({ values: { to_device_message_lifetime: '2w' }, env: {} }).to_device_message_lifetime, 14 * DAY_MS);
  assert.equal(loadConfig({ values: { to_device_message_lifetime: 5000 }, env: {} }).to_device_message_lifetime, 5000);
  assert.equal(loadConfig({ file: 'deploy/palisade.example.yaml', env: {} }).to_device_message_lifetime, 7 * DAY_MS);
});

test('a bad to_device_message_lifetime stops the server naming the key', () => {
  for (const value of ['soon', '7 days', 0, -1, 1.5]) {
    assert.throws(
      () => loadConfig({ values: { to_device_message_lifetime: value as never }, env: {} }),
      (error: unknown) => error instanceof ConfigError && error.problems.some((problem) => problem.startsWith('to_device_message_lifetime')),
      String(value),
    );
  }
});
