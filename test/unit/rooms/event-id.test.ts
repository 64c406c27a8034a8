import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { buildEvent, type BuildEventInput } from '../../../server/rooms/build-event.ts';
import { canonicalJson } from '../../../server/rooms/canonical-json.ts';
import { computeEventId, contentHash, referenceHash, verifyContentHash } from '../../../server/rooms/event-hashing.ts';
import { verifyEventSignature } from '../../../server/rooms/event-signing.ts';
import { redactEvent } from '../../../server/rooms/redaction.ts';
import { signingKeyFromSeed } from '../../../server/signing-key.ts';

const KEY = signingKeyFromSeed(Buffer.alloc(32, 1), 'a_test');

/**
 * A real room-version-5 create event from jki.re, used as a test vector by
 * gomatrixserverlib (eventversion_test.go). Its redacted form is the same
 * under the v9/v10 algorithm, so its v4+ event ID must come out the same.
 */
const JKI_CREATE = {
  auth_events: [], prev_events: [], type: 'm.room.create', room_id: '!uXDCzlYgCTHtiWCkEx:jki.re', sender: '@erikj:jki.re',
  content: {
    room_version: '5',
    predecessor: { room_id: '!gdRMqOrTFdOCYHNwOo:half-shot.uk', event_id: '$LP7ROBc4b+cMc1UE9haIz8q5AK2AIW4eJ90FfKLvyZI' },
    creator: '@erikj:jki.re',
  },
  depth: 1, prev_state: [], state_key: '', origin: 'jki.re', origin_server_ts: 1560284621137,
  hashes: { sha256: 'IX6zuNiJpJPNf70BLleL3HSCpjKeq9Uhu7uUpyDjBmc' },
  signatures: { 'jki.re': { 'ed25519:auto': 'O4IyFfF2PPtGp5uaDm8t57dZbdh8vc8Q64LgCwvzYRVItAMI0uisfiAFaxkVT7MRpzh6N2QNN5NMRXZKmgPYDA' } },
  unsigned: { age: 1321650 },
};

test('event ID of a real event matches the one other servers computed', () => {
  assert.equal(computeEventId(JKI_CREATE, '10'), '$RrGxF28UrHLmoASHndYb9Jb_1SFww2ptmtur9INS438');
  assert.ok(verifyContentHash(JKI_CREATE));
  // v11 keeps all create content and drops origin/prev_state, so the same JSON hashes differently.
  assert.notEqual(computeEventId(JKI_CREATE, '11'), computeEventId(JKI_CREATE, '10'));
});

test('the event ID is the URL-safe reference hash of the redacted event, without event_id, signatures or unsigned', () => {
  const event = { ...JKI_CREATE, event_id: '$whatever', unsigned: { age: 1 }, signatures: {} };
  const { signatures: _s, unsigned: _u, event_id: _e, ...hashed } = redactEvent(event, '11');
  const expected = createHash('sha256').update(canonicalJson(hashed)).digest();
  assert.deepEqual(referenceHash(event, '11'), expected);
  assert.equal(computeEventId(event, '11'), `$${expected.toString('base64url')}`);
  assert.match(computeEventId(event, '11'), /^\$[A-Za-z0-9_-]{43}$/);
  // Neither unsigned data, signatures nor content that redaction strips change the ID.
  const changed = { ...event, unsigned: { age: 99 }, signatures: { x: { 'ed25519:1': 'y' } } };
  assert.equal(computeEventId(changed, '11'), computeEventId(event, '11'));
});

test('content hash covers the full content but not unsigned, signatures or hashes', () => {
  const base = { type: 'm.room.message', content: { body: 'a' }, sender: '@u:hs' };
  const withExtras = { ...base, unsigned: { age: 1 }, signatures: { hs: {} }, hashes: { sha256: 'x' } };
  assert.deepEqual(contentHash(withExtras), contentHash(base));
  assert.notDeepEqual(contentHash({ ...base, content: { body: 'b' } }), contentHash(base));
  assert.equal(verifyContentHash({ ...JKI_CREATE, content: { ...JKI_CREATE.content, creator: '@x:jki.re' } }), false);
  assert.equal(verifyContentHash({ ...JKI_CREATE, hashes: {} }), false);
});

function input(overrides: Partial<BuildEventInput> = {}): BuildEventInput {
  return {
    roomVersion: '11', roomId: '!r:hs.test', sender: '@u:hs.test', type: 'm.room.message',
    content: { msgtype: 'm.text', body: 'hello' }, prevEvents: ['$prev'], authEvents: ['$create', '$member'],
    depth: 7, originServerTs: 1_700_000_000_000, origin: 'hs.test', signingKey: KEY, ...overrides,
  };
}

for (const roomVersion of ['10', '11']) {
  test(`v${roomVersion}: buildEvent hashes, signs, then derives the ID, deterministically`, () => {
    const event = buildEvent(input({ roomVersion }));
    assert.deepEqual(buildEvent(input({ roomVersion })), event);
    assert.equal(event.event_id, computeEventId(event, roomVersion));
    assert.ok(verifyContentHash(event));
    assert.ok(verifyEventSignature(event, roomVersion, 'hs.test', KEY.keyId, KEY.publicKeyBase64));
    assert.equal('origin' in event, false);
    assert.equal('unsigned' in event, false);
    // A redacted copy still has a valid signature and the same ID, but fails its content hash.
    const redacted = redactEvent(event, roomVersion);
    assert.ok(verifyEventSignature(redacted, roomVersion, 'hs.test', KEY.keyId, KEY.publicKeyBase64));
    assert.equal(computeEventId(redacted, roomVersion), event.event_id);
    assert.equal(verifyContentHash(redacted), false);
    assert.notEqual(buildEvent(input({ roomVersion, originServerTs: 1 })).event_id, event.event_id);
  });
}

test('buildEvent places redacts top-level in v10 and in content in v11', () => {
  const v10 = buildEvent(input({ roomVersion: '10', type: 'm.room.redaction', content: { reason: 'spam' }, redacts: '$bad' }));
  assert.equal(v10.redacts, '$bad');
  assert.deepEqual(v10.content, { reason: 'spam' });
  const v11 = buildEvent(input({ roomVersion: '11', type: 'm.room.redaction', content: { reason: 'spam' }, redacts: '$bad' }));
  assert.equal(v11.redacts, undefined);
  assert.deepEqual(v11.content, { reason: 'spam', redacts: '$bad' });
});

test('buildEvent keeps an empty state_key and refuses bad input', () => {
  const state = buildEvent(input({ type: 'm.room.name', stateKey: '', content: { name: 'R' } }));
  assert.equal(state.state_key, '');
  assert.throws(() => buildEvent(input({ depth: 1.5 })), RangeError);
  assert.throws(() => buildEvent(input({ redacts: '$x' })), TypeError);
  assert.throws(() => buildEvent(input({ roomVersion: '9' })), /not supported/);
  assert.throws(() => buildEvent(input({ content: { n: 0.5 } })), /canonical JSON/);
});

test('buildEvent does not keep references to the caller’s content', () => {
  const content = { body: 'a' };
  const event = buildEvent(input({ content }));
  content.body = 'changed';
  assert.equal(event.content.body, 'a');
  assert.ok(verifyContentHash(event));
});
