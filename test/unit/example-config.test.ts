import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../server/config.ts';

test('deploy/palisade.example.yaml is a valid configuration', () => {
  const config = loadConfig({ file: 'deploy/palisade.example.yaml', env: {} });
  assert.equal(config.server_name, 'localhost');
  assert.equal(config.max_upload_size, 50 * 1024 * 1024);
  assert.equal(config.database_url, 'postgres://palisade:secret@127.0.0.1:5432/palisade');
  assert.equal(config.redis_url, 'redis://127.0.0.1:6379');
});
