import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { ConfigError, loadConfig, type ConfigFile } from '../../../server/config.ts';

function problemsOf(values: unknown): string[] {
  try {
    loadConfig({ values: values as ConfigFile, env: {} });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail('the config was accepted');
}

test('media keys: safe defaults (previews off, freeze on, no quota, store under data_dir)', () => {
  const config = loadConfig({ env: {} });
  assert.equal(config.url_preview_enabled, false);
  assert.equal(config.enable_authenticated_media, true);
  assert.equal(config.media_upload_quota, undefined);
  assert.equal(config.media_store_path, resolve('data', 'media'));
  assert.deepEqual(config.rc_media_create, { per_second: 10, burst_count: 50 });
  assert.equal(config.max_spider_size, 10 * 1024 ** 2);
  assert.equal(config.url_preview_fetch_timeout, 10_000);
});

test('media keys: sizes, durations and ranges in their Synapse-style forms', () => {
  const config = loadConfig({
    env: {},
    values: {
      max_upload_size: '100M',
      media_upload_quota: '2G',
      media_store_path: '/srv/media',
      max_spider_size: '512K',
      url_preview_fetch_timeout: '3s',
      url_preview_ip_range_blacklist: ['203.0.113.0/24', '2001:db8::/32'],
      url_preview_ip_range_whitelist: ['10.1.2.3'],
      url_preview_url_blacklist: [{ netloc: '*.internal.example' }, { scheme: 'http', path: '^/admin' }],
    } as ConfigFile,
  });
  assert.equal(config.max_upload_size, 100 * 1024 ** 2);
  assert.equal(config.media_upload_quota, 2 * 1024 ** 3);
  assert.equal(config.media_store_path, '/srv/media');
  assert.equal(config.max_spider_size, 512 * 1024);
  assert.equal(config.url_preview_fetch_timeout, 3000);
});

test('media keys: every bad value is refused, naming its key', () => {
  const problems = problemsOf({
    max_upload_size: 'lots',
    media_upload_quota: -1,
    enable_authenticated_media: 'yes',
    url_preview_ip_range_blacklist: ['10.0.0.0/33'],
    url_preview_ip_range_whitelist: ['not-an-ip'],
    url_preview_url_blacklist: [{ host: 'x' }, { path: '^(' }],
    rc_media_create: { per_second: 0, burst_count: 1 },
    url_preview_fetch_timeout: 'soon',
  });
  for (const key of [
    'max_upload_size',
    'media_upload_quota',
    'enable_authenticated_media',
    'url_preview_ip_range_blacklist',
    'url_preview_ip_range_whitelist',
    'url_preview_url_blacklist.0.host',
    'url_preview_url_blacklist.1.path',
    'rc_media_create',
    'url_preview_fetch_timeout',
  ]) {
    assert.ok(problems.some((problem) => problem.startsWith(key)), `${key} in ${JSON.stringify(problems)}`);
  }
});
