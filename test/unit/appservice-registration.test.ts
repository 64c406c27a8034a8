import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRegistration, RegistrationError, type Registration } from '../../server/appservices/registration.ts';
import { validateRegistrationSet } from '../../server/appservices/registration-set.ts';

const base = {
  id: 'telegram',
  url: 'http://127.0.0.1:9000',
  as_token: 'as-telegram',
  hs_token: 'hs-telegram',
  sender_localpart: 'telegrambot',
  namespaces: { users: [{ regex: '@telegram_.*:localhost', exclusive: true }], aliases: [{ regex: '#telegram_.*:localhost', exclusive: true }] },
};

const parse = (raw: Record<string, unknown>) => parseRegistration(raw, 'test.yaml', 'localhost');

test('a standard registration parses, with MSC2409/MSC3202/MSC4190 flags', () => {
  const registration = parse({ ...base, 'de.sorunome.msc2409.push_ephemeral': true, 'org.matrix.msc3202': true, 'io.element.msc4190': true, rate_limited: false });
  assert.equal(registration.senderUserId, '@telegrambot:localhost');
  assert.equal(registration.receiveEphemeral, true);
  assert.equal(registration.deviceMasquerading, true);
  assert.equal(registration.deviceManagement, true);
  assert.equal(registration.rateLimited, false);
  assert.equal(registration.supportsEncryption, false);
  assert.ok(registration.namespaces.users[0].regex.test('@telegram_123:localhost'));
  assert.ok(!registration.namespaces.users[0].regex.test('@alice:localhost'));
  assert.ok(!registration.namespaces.users[0].regex.test('x@telegram_1:localhost'), 'regexes match whole IDs');
});

test('bad registrations are refused with the file and key named', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['missing as_token', { ...base, as_token: undefined }, /test\.yaml: as_token/],
    ['bad regex', { ...base, namespaces: { users: [{ regex: '@(unclosed', exclusive: true }] } }, /namespaces\.users\.0\.regex/],
    ['upper-case sender', { ...base, sender_localpart: 'Bot' }, /sender_localpart/],
    ['same tokens', { ...base, hs_token: 'as-telegram' }, /hs_token: as_token and hs_token must differ/],
    ['url not a URL', { ...base, url: 'nope' }, /url/],
    ['unknown namespace kind', { ...base, namespaces: { servers: [] } }, /namespaces/],
  ];
  for (const [name, raw, message] of cases) {
    assert.throws(() => parse(raw), (error: unknown) => error instanceof RegistrationError && message.test(error.message), name);
  }
});

test('a set with duplicate ids or tokens, or overlapping exclusive namespaces, is refused', () => {
  const discord: Registration = parse({
    ...base,
    id: 'discord',
    as_token: 'as-discord',
    hs_token: 'hs-discord',
    sender_localpart: 'discordbot',
    namespaces: { users: [{ regex: '@discord_.*:localhost', exclusive: true }] },
  });
  const telegram = parse(base);
  validateRegistrationSet([telegram, discord]);

  const cases: Array<[string, Registration, RegExp]> = [
    ['same id', { ...discord, id: 'telegram' }, /id telegram is also used by telegram/],
    ['shared token', { ...discord, asToken: 'hs-telegram' }, /a token is also used/],
    ['same regex', parse({ ...base, id: 'x', as_token: 'a1', hs_token: 'h1', sender_localpart: 'x' }), /both claim/],
    [
      'prefix overlap',
      parse({ ...base, id: 'y', as_token: 'a2', hs_token: 'h2', sender_localpart: 'y', namespaces: { users: [{ regex: '@telegram_bot_.*', exclusive: true }] } }),
      /share the prefix @telegram_/,
    ],
    [
      'claims the other sender',
      parse({ ...base, id: 'z', as_token: 'a3', hs_token: 'h3', sender_localpart: 'z', namespaces: { users: [{ regex: '@telegrambot:localhost', exclusive: true }] } }),
      /claims telegram's sender/,
    ],
  ];
  for (const [name, other, message] of cases) {
    assert.throws(() => validateRegistrationSet([telegram, other]), (error: unknown) => error instanceof RegistrationError && message.test(error.message), name);
  }
  // Non-exclusive namespaces may overlap freely.
  const shared = parse({ ...base, id: 'w', as_token: 'a4', hs_token: 'h4', sender_localpart: 'w', namespaces: { users: [{ regex: '@telegram_.*:localhost', exclusive: false }] } });
  validateRegistrationSet([telegram, shared]);
});
