import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAddressPolicy } from '../../../server/media/previews/ip-ranges.ts';
import { createUrlBlacklist, urlBlacklistProblems } from '../../../server/media/previews/url-blacklist.ts';
import { checkUrl, resolveAllowedAddress, type Resolver } from '../../../server/media/previews/safe-fetch.ts';
import { MatrixError } from '../../../server/errors.ts';

/** Decisions only: nothing here connects anywhere. */
const REFUSED = [
  ['127.0.0.1', 'loopback'],
  ['127.8.9.10', 'loopback /8'],
  ['10.0.0.1', 'private'],
  ['172.16.5.4', 'private'],
  ['192.168.1.1', 'private'],
  ['169.254.169.254', 'link-local / cloud metadata'],
  ['100.64.0.1', 'CGNAT'],
  ['100.100.100.200', 'CGNAT (Alibaba metadata)'],
  ['0.0.0.0', 'unspecified'],
  ['224.0.0.1', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['192.0.0.192', 'IETF protocol assignments (Oracle metadata)'],
  ['::1', 'IPv6 loopback'],
  ['::', 'IPv6 unspecified'],
  ['fe80::1', 'IPv6 link-local'],
  ['fc00::1', 'unique local'],
  ['fd00:ec2::254', 'AWS IPv6 metadata'],
  ['ff02::1', 'IPv6 multicast'],
  ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
  ['::ffff:10.0.0.1', 'IPv4-mapped private'],
  ['::ffff:a9fe:a9fe', 'IPv4-mapped metadata (hex form)'],
  ['64:ff9b::7f00:1', 'NAT64 of loopback'],
  ['64:ff9b::808:808', 'NAT64 of a public address (refused: tunnels are not vouched for)'],
  ['2002:7f00:1::1', '6to4 of loopback'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
  ['::127.0.0.1', 'IPv4-compatible'],
] as const;

const ALLOWED = ['8.8.8.8', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8'];

test('the built-in policy refuses every non-public address form', () => {
  const policy = createAddressPolicy({ blacklist: [], whitelist: [] });
  for (const [address, what] of REFUSED) assert.equal(policy.check(address).allowed, false, `${address} (${what})`);
  for (const address of ALLOWED) assert.equal(policy.check(address).allowed, true, address);
  assert.equal(policy.check('not-an-ip').allowed, false);
});

test('the whitelist opens exactly its ranges; the configured blacklist adds to the built-in one', () => {
  const policy = createAddressPolicy({ blacklist: ['8.8.4.0/24', '2606:4700::/32'], whitelist: ['127.0.0.1/32', '10.1.0.0/16'] });
  assert.equal(policy.check('127.0.0.1').allowed, true);
  assert.equal(policy.check('::ffff:127.0.0.1').allowed, true, 'the mapped form is the same address');
  assert.equal(policy.check('127.0.0.2').allowed, false);
  assert.equal(policy.check('::1').allowed, false);
  assert.equal(policy.check('10.1.2.3').allowed, true);
  assert.equal(policy.check('10.2.0.1').allowed, false);
  assert.equal(policy.check('8.8.4.4').allowed, false);
  assert.equal(policy.check('8.8.8.8').allowed, true);
  assert.equal(policy.check('2606:4700:4700::1111').allowed, false);
});

test('a hostname is judged by what it resolves to; the first allowed address is the one used', async () => {
  const policy = createAddressPolicy({ blacklist: [], whitelist: [] });
  const resolver = (answers: string[]): Resolver => async () => answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  await assert.rejects(resolveAllowedAddress('internal.example', policy, resolver(['10.0.0.1'])), (error: MatrixError) => error.errcode === 'M_FORBIDDEN' && error.message.includes('10.0.0.1'));
  await assert.rejects(resolveAllowedAddress('rebind.example', policy, resolver(['::1', '127.0.0.1'])), /refused/);
  await assert.rejects(resolveAllowedAddress('empty.example', policy, resolver([])), /no addresses/);
  assert.deepEqual(await resolveAllowedAddress('mixed.example', policy, resolver(['10.0.0.1', '93.184.216.34'])), { address: '93.184.216.34', family: 4 });
  await assert.rejects(resolveAllowedAddress('[::ffff:127.0.0.1]', policy), /refused/);
  await assert.rejects(resolveAllowedAddress('169.254.169.254', policy), /refused/);
});

test('url_preview_url_blacklist: globs and ^regexes per URL part, every part of an entry must match', () => {
  const blacklist = createUrlBlacklist([{ netloc: 'google.com' }, { netloc: '*.google.com' }, { scheme: 'http', netloc: 'insecure.example' }, { path: '^/private/' }]);
  const refused = (url: string) => blacklist.match(new URL(url)) !== undefined;
  assert.ok(refused('https://google.com/search'));
  assert.ok(refused('https://mail.google.com/'));
  assert.ok(!refused('https://notgoogle.com/'));
  assert.ok(refused('http://insecure.example/x'));
  assert.ok(!refused('https://insecure.example/x'));
  assert.ok(refused('https://any.example/private/doc'));
  assert.ok(!refused('https://any.example/public/private/'));
  assert.deepEqual(urlBlacklistProblems([{ host: 'x' }, { path: '^(' }]).length, 2);
  assert.throws(() => checkUrl('ftp://example.org/', blacklist), /http and https/);
  assert.throws(() => checkUrl('https://mail.google.com/', blacklist), /url_preview_url_blacklist/);
  for (const url of ['https://user:secret@example.org/', 'https://user@example.org/', 'https://:secret@example.org/']) {
    assert.throws(() => checkUrl(url, blacklist), (error: MatrixError) => error.errcode === 'M_INVALID_PARAM' && /credentials/.test(error.message), url);
  }
  assert.equal(checkUrl('https://example.org/a?b#c', blacklist).toString(), 'https://example.org/a?b#c');
});
