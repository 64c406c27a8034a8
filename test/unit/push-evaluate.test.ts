import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultRules } from '../../server/push/default-rules.ts';
import { evaluatePushRules, highlights, notifies, type PushContext, type PushEvent } from '../../server/push/evaluate.ts';

const ME = '@me:example.org';
const context = (overrides: Partial<PushContext> = {}): PushContext => ({ userId: ME, displayName: 'Mia', memberCount: 5, senderPowerLevel: 0, notificationLevel: () => 50, ...overrides });
const message = (content: Record<string, unknown>, extra: Partial<PushEvent> = {}): PushEvent => ({ type: 'm.room.message', sender: '@you:example.org', room_id: '!r:example.org', content, ...extra });
const outcome = (event: PushEvent, ctx = context()) => {
  const actions = evaluatePushRules(defaultRules(ME), event, ctx);
  return [notifies(actions), highlights(actions)];
};

test('the default rules, evaluated as the spec describes them', () => {
  assert.deepEqual(outcome(message({ msgtype: 'm.text', body: 'hello' })), [true, false], '.m.rule.message');
  assert.deepEqual(outcome(message({ msgtype: 'm.notice', body: 'hello' })), [false, false], '.m.rule.suppress_notices');
  assert.deepEqual(outcome(message({ body: 'hi mia!' })), [true, true], 'display name, case-insensitive, as a word');
  assert.deepEqual(outcome(message({ body: 'hi miami' })), [true, false], 'not inside another word');
  assert.deepEqual(outcome(message({ body: 'ping me please' })), [true, true], 'user name (localpart) as a word');
  assert.deepEqual(outcome(message({ body: 'hi mia', 'm.mentions': {} })), [true, false], 'legacy name rules are off when m.mentions is present');
  assert.deepEqual(outcome(message({ body: 'x', 'm.mentions': { user_ids: [ME] } })), [true, true], '.m.rule.is_user_mention');
  assert.deepEqual(outcome(message({ body: 'x', 'm.mentions': { room: true } })), [true, false], '@room needs the notifications.room level');
  assert.deepEqual(outcome(message({ body: 'x', 'm.mentions': { room: true } }), context({ senderPowerLevel: 50 })), [true, true]);
  assert.deepEqual(outcome(message({ body: '* x', 'm.relates_to': { rel_type: 'm.replace', event_id: '$e' } })), [false, false], '.m.rule.suppress_edits');
  assert.deepEqual(outcome(message({ ciphertext: 'x' }, { type: 'm.room.encrypted' }), context({ memberCount: 2 })), [true, false], 'encrypted one-to-one');
  assert.deepEqual(outcome(message({ membership: 'invite' }, { type: 'm.room.member', state_key: ME })), [true, false], '.m.rule.invite_for_me');
  assert.deepEqual(outcome(message({ membership: 'join' }, { type: 'm.room.member', state_key: '@other:example.org' })), [false, false], '.m.rule.member_event');
  assert.deepEqual(outcome(message({ key: '👍' }, { type: 'm.reaction' })), [false, false], '.m.rule.reaction');
  const master = defaultRules(ME);
  master.override[0].enabled = true;
  assert.equal(notifies(evaluatePushRules(master, message({ body: 'hello' }), context())), false, 'the master rule silences everything');
});

/** One rule with these conditions; whether it matches the event. */
const matches = (conditions: Array<Record<string, unknown>>, event: PushEvent, ctx = context()) => {
  const ruleset = defaultRules(ME);
  for (const kind of ['override', 'content', 'room', 'sender', 'underride'] as const) ruleset[kind] = [];
  ruleset.override = [{ rule_id: 'probe', default: false, enabled: true, actions: ['notify'], conditions }];
  return notifies(evaluatePushRules(ruleset, event, ctx));
};

test('event_match: whole value with globs, case-insensitive; content.body by words; only string values', () => {
  const event = message({ body: 'The Quick brown fox', msgtype: 'm.text', count: 3 });
  assert.equal(matches([{ kind: 'event_match', key: 'content.msgtype', pattern: 'm.TEXT' }], event), true);
  assert.equal(matches([{ kind: 'event_match', key: 'content.msgtype', pattern: 'm.te' }], event), false, 'other keys match the whole value');
  assert.equal(matches([{ kind: 'event_match', key: 'content.msgtype', pattern: 'm.t?x*' }], event), true);
  assert.equal(matches([{ kind: 'event_match', key: 'content.body', pattern: 'quick' }], event), true, 'a word of the body');
  assert.equal(matches([{ kind: 'event_match', key: 'content.body', pattern: 'qui' }], event), false, 'not part of a word');
  assert.equal(matches([{ kind: 'event_match', key: 'content.body', pattern: 'quick b*' }], event), true);
  assert.equal(matches([{ kind: 'event_match', key: 'content.count', pattern: '*' }], event), false, 'a number is not a string');
  assert.equal(matches([{ kind: 'event_match', key: 'content.missing', pattern: '*' }], event), false, 'absent never matches, even with *');
  assert.equal(matches([{ kind: 'event_match', key: 'room_id', pattern: '!r:example.org' }], event), true, 'top-level keys');
});

test('event_property_is: exact value and type of strings, integers, booleans and null; escaped dots in keys', () => {
  const event = message({ 'm.relates_to': { rel_type: 'm.thread' }, 'a.b': { c: 7 }, flag: false, nothing: null, 'back\\slash': 'x' });
  assert.equal(matches([{ kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.thread' }], event), true);
  assert.equal(matches([{ kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.THREAD' }], event), false, 'case-sensitive, no globs');
  assert.equal(matches([{ kind: 'event_property_is', key: 'content.a\\.b.c', value: 7 }], event), true);
  assert.equal(matches([{ kind: 'event_property_is', key: 'content.a\\.b.c', value: '7' }], event), false, 'a string is not an integer');
  assert.equal(matches([{ kind: 'event_property_is', key: 'content.flag', value: false }], event), true);
  assert.equal(matches([{ kind: 'event_property_is', key: 'content.nothing', value: null }], event), true);
  assert.equal(matches([{ kind: 'event_property_is', key: 'content.missing', value: null }], event), false, 'absent is not null');
  assert.equal(matches([{ kind: 'event_property_is', key: 'content.back\\\\slash', value: 'x' }], event), true, '\\\\ is a literal backslash');
  assert.equal(matches([{ kind: 'event_property_is', key: 'content.a\\.b', value: { c: 7 } }], event), false, 'objects are never compared');
});

test('event_property_contains: an array holding the exact value', () => {
  const event = message({ tags: ['red', 2, true, null], notArray: 'red' });
  for (const value of ['red', 2, true, null]) assert.equal(matches([{ kind: 'event_property_contains', key: 'content.tags', value }], event), true, String(value));
  assert.equal(matches([{ kind: 'event_property_contains', key: 'content.tags', value: 'RED' }], event), false);
  assert.equal(matches([{ kind: 'event_property_contains', key: 'content.tags', value: '2' }], event), false);
  assert.equal(matches([{ kind: 'event_property_contains', key: 'content.notArray', value: 'red' }], event), false, 'a string is not an array');
});

test('contains_display_name: the name as a word of the body, literally; never without a name', () => {
  const named = (displayName: string | undefined) => context({ displayName });
  assert.equal(matches([{ kind: 'contains_display_name' }], message({ body: 'ask Mia (ops) about it' }), named('mia (ops)')), true, 'special characters are literal');
  assert.equal(matches([{ kind: 'contains_display_name' }], message({ body: 'ask Mia about it' }), named('M*')), false, 'no globs in names');
  assert.equal(matches([{ kind: 'contains_display_name' }], message({ body: 'anything' }), named(undefined)), false);
  assert.equal(matches([{ kind: 'contains_display_name' }], message({ body: 'anything' }), named('')), false);
  assert.equal(matches([{ kind: 'contains_display_name' }], message({ formatted_body: 'Mia' }), named('Mia')), false, 'only content.body counts');
});

test('room_member_count: ==, <, >, <=, >= and a bare number; anything else never matches', () => {
  const at = (is: string, memberCount: number) => matches([{ kind: 'room_member_count', is }], message({ body: 'x' }), context({ memberCount }));
  assert.equal(at('2', 2), true);
  assert.equal(at('==2', 3), false);
  assert.equal(at('<3', 2), true);
  assert.equal(at('>3', 3), false);
  assert.equal(at('>=3', 3), true);
  assert.equal(at('<=1', 2), false);
  for (const is of ['', 'two', '=2', '2.5', '-1', '!=2']) assert.equal(at(is, 2), false, JSON.stringify(is));
});

test('sender_notification_permission: the sender’s level against notifications.<key>, 50 by default', () => {
  const probe = [{ kind: 'sender_notification_permission', key: 'room' }];
  assert.equal(matches(probe, message({ body: 'x' }), context({ senderPowerLevel: 49 })), false);
  assert.equal(matches(probe, message({ body: 'x' }), context({ senderPowerLevel: 50 })), true);
  assert.equal(matches(probe, message({ body: 'x' }), context({ senderPowerLevel: 10, notificationLevel: () => 10 })), true, 'a room that lowered notifications.room');
});

test('intentional mentions: is_user_mention and is_room_mention; the legacy rules only without m.mentions; unknown conditions never match', () => {
  assert.deepEqual(outcome(message({ body: 'x', 'm.mentions': { user_ids: ['@other:example.org'] } })), [true, false], 'someone else mentioned');
  assert.deepEqual(outcome(message({ body: 'mia', 'm.mentions': { user_ids: ['@other:example.org'] } })), [true, false], 'the name in the body no longer highlights');
  assert.deepEqual(outcome(message({ body: 'x', 'm.mentions': { user_ids: ME } })), [true, false], 'user_ids must be an array');
  assert.deepEqual(outcome(message({ body: 'x', 'm.mentions': { room: 'true' } }), context({ senderPowerLevel: 100 })), [true, false], 'room must be the boolean true');
  assert.deepEqual(outcome(message({ body: '@room hello' }), context({ senderPowerLevel: 50 })), [true, true], '.m.rule.roomnotif without m.mentions');
  assert.deepEqual(outcome(message({ body: '@room hello' }), context({ senderPowerLevel: 0 })), [true, false], '.m.rule.roomnotif needs the level');
  assert.deepEqual(outcome(message({ body: '@room hello', 'm.mentions': {} }), context({ senderPowerLevel: 100 })), [true, false], 'legacy @room is off with m.mentions');
  assert.deepEqual(outcome(message({ body: 'x' }, { type: 'm.room.tombstone', state_key: '' })), [true, true], '.m.rule.tombstone');
  assert.equal(matches([{ kind: 'org.example.unknown' }], message({ body: 'x' })), false);
});

test('encrypted events: the server sees only the outer type, so .m.rule.encrypted notifies and nothing highlights', () => {
  const encrypted = message({ algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'mia @room me' }, { type: 'm.room.encrypted' });
  assert.deepEqual(outcome(encrypted), [true, false], '.m.rule.encrypted in a group room');
  const rules = defaultRules(ME);
  rules.underride.find((rule) => rule.rule_id === '.m.rule.encrypted')!.enabled = false;
  assert.equal(notifies(evaluatePushRules(rules, encrypted, context())), false, 'a user who turned it off');
  assert.equal(notifies(evaluatePushRules(rules, encrypted, context({ memberCount: 2 }))), true, 'the one-to-one rule still applies');
});
