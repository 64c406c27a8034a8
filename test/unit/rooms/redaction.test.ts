import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactEvent, redactedEventIdOf } from '../../../server/rooms/redaction.ts';
import { UnsupportedRoomVersionError } from '../../../server/rooms/room-versions.ts';

// Spec: rooms/fragments/v9-redactions.md (used by v10) and v11-redactions.md.

const ENVELOPE = {
  event_id: '$e', room_id: '!r:hs', sender: '@u:hs', origin_server_ts: 5, depth: 4,
  prev_events: ['$p'], auth_events: ['$a'], hashes: { sha256: 'h' }, signatures: { hs: { 'ed25519:1': 's' } },
};
/** Top-level keys that are never protected. */
const JUNK = { unsigned: { age: 1 }, extra: 'x', age_ts: 7 };
/** Protected before v11 only. */
const LEGACY = { origin: 'hs', membership: 'join', prev_state: [] };

function event(type: string, content: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { ...ENVELOPE, ...JUNK, ...LEGACY, type, content, ...extra };
}

test('top-level keys: v10 keeps origin, membership and prev_state; v11 drops them; both drop the rest', () => {
  const message = event('m.room.message', { body: 'hi' }, { state_key: 'k' });
  assert.deepEqual(redactEvent(message, '10'), { ...ENVELOPE, ...LEGACY, type: 'm.room.message', state_key: 'k', content: {} });
  assert.deepEqual(redactEvent(message, '11'), { ...ENVELOPE, type: 'm.room.message', state_key: 'k', content: {} });
});

const CONTENT_CASES: Array<{ type: string; content: Record<string, unknown>; v10: Record<string, unknown>; v11: Record<string, unknown> }> = [
  {
    type: 'm.room.member',
    content: {
      membership: 'join', displayname: 'U', avatar_url: 'mxc://a/b', join_authorised_via_users_server: '@x:hs',
      third_party_invite: { display_name: 'u@example.org', signed: { mxid: '@u:hs', token: 't', signatures: {} } },
    },
    v10: { membership: 'join', join_authorised_via_users_server: '@x:hs' },
    v11: { membership: 'join', join_authorised_via_users_server: '@x:hs', third_party_invite: { signed: { mxid: '@u:hs', token: 't', signatures: {} } } },
  },
  {
    type: 'm.room.create',
    content: { creator: '@u:hs', room_version: '11', 'm.federate': false, predecessor: { room_id: '!old:hs' } },
    v10: { creator: '@u:hs' },
    v11: { creator: '@u:hs', room_version: '11', 'm.federate': false, predecessor: { room_id: '!old:hs' } },
  },
  {
    type: 'm.room.join_rules',
    content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!s:hs' }], other: 1 },
    v10: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!s:hs' }] },
    v11: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!s:hs' }] },
  },
  {
    type: 'm.room.power_levels',
    content: {
      ban: 50, events: { 'm.room.name': 50 }, events_default: 0, invite: 0, kick: 50, redact: 50,
      state_default: 50, users: { '@u:hs': 100 }, users_default: 0, notifications: { room: 50 },
    },
    v10: { ban: 50, events: { 'm.room.name': 50 }, events_default: 0, kick: 50, redact: 50, state_default: 50, users: { '@u:hs': 100 }, users_default: 0 },
    v11: { ban: 50, events: { 'm.room.name': 50 }, events_default: 0, invite: 0, kick: 50, redact: 50, state_default: 50, users: { '@u:hs': 100 }, users_default: 0 },
  },
  {
    type: 'm.room.history_visibility',
    content: { history_visibility: 'shared', other: true },
    v10: { history_visibility: 'shared' },
    v11: { history_visibility: 'shared' },
  },
  {
    type: 'm.room.redaction',
    content: { redacts: '$target', reason: 'spam' },
    v10: {},
    v11: { redacts: '$target' },
  },
  { type: 'm.room.name', content: { name: 'Secret plans' }, v10: {}, v11: {} },
  { type: 'm.room.message', content: { msgtype: 'm.text', body: 'hi' }, v10: {}, v11: {} },
  { type: 'm.room.encrypted', content: { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'x' }, v10: {}, v11: {} },
];

for (const { type, content, v10, v11 } of CONTENT_CASES) {
  test(`content of ${type}`, () => {
    assert.deepEqual(redactEvent(event(type, content), '10').content, v10, 'v10');
    assert.deepEqual(redactEvent(event(type, content), '11').content, v11, 'v11');
  });
}

test('v11 keeps a third_party_invite only for its signed block, and only when it has one', () => {
  const member = (invite: unknown) => event('m.room.member', { membership: 'invite', third_party_invite: invite });
  assert.deepEqual(redactEvent(member({ display_name: 'x' }), '11').content, { membership: 'invite' });
  assert.deepEqual(redactEvent(member('not an object'), '11').content, { membership: 'invite' });
  assert.deepEqual(redactEvent(member({ signed: null }), '11').content, { membership: 'invite', third_party_invite: { signed: null } });
});

test('the top-level redacts of a v10 redaction is not protected; v11 keeps it in content', () => {
  const v10 = event('m.room.redaction', { reason: 'spam' }, { redacts: '$target' });
  assert.equal(redactedEventIdOf(v10, '10'), '$target');
  assert.equal('redacts' in redactEvent(v10, '10'), false);
  const v11 = event('m.room.redaction', { redacts: '$target' });
  assert.equal(redactedEventIdOf(v11, '11'), '$target');
  assert.equal(redactedEventIdOf(redactEvent(v11, '11'), '11'), '$target');
});

test('redaction copies: the input is untouched and the output shares no objects with it', () => {
  const original = event('m.room.power_levels', { users: { '@u:hs': 100 }, notifications: { room: 50 } });
  const snapshot = structuredClone(original);
  const redacted = redactEvent(original, '11');
  (redacted.content.users as Record<string, number>)['@u:hs'] = 0;
  assert.deepEqual(original, snapshot);
});

test('a missing or malformed content redacts to an empty object', () => {
  assert.deepEqual(redactEvent({ ...ENVELOPE, type: 'm.room.member', content: 'nope' }, '10').content, {});
  assert.equal('content' in redactEvent({ ...ENVELOPE, type: 'x' }, '10'), false);
});

test('unsupported room versions are refused', () => {
  assert.throws(() => redactEvent(event('x', {}), '9'), UnsupportedRoomVersionError);
});
