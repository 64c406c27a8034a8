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
