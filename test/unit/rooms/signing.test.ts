import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBase64, encodeUnpaddedBase64, encodeUrlSafeBase64 } from '../../../server/rooms/base64.ts';
import { contentHash } from '../../../server/rooms/event-hashing.ts';
import { signEvent, verifyEventSignature } from '../../../server/rooms/event-signing.ts';
import { redactEvent } from '../../../server/rooms/redaction.ts';
import { signJson, verifyJsonSignature } from '../../../server/rooms/signing.ts';
import { signingKeyFromSeed } from '../../../server/signing-key.ts';

// Spec: appendices, "Cryptographic Test Vectors".
const SEED = decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1');
const KEY = signingKeyFromSeed(SEED, '1');
const SERVER_NAME = 'domain';

test('unpadded base64 matches the spec examples, and both alphabets decode', () => {
  const examples = ['', 'Zg', 'Zm8', 'Zm9v', 'Zm9vYg', 'Zm9vYmE', 'Zm9vYmFy'];
  examples.forEach((encoded, length) => assert.equal(encodeUnpaddedBase64(Buffer.from('foobar'.slice(0, length))), encoded));
  const bytes = Buffer.from([0xfb, 0xff, 0xfe]);
  assert.equal(encodeUnpaddedBase64(bytes), '+//+');
  assert.equal(encodeUrlSafeBase64(bytes), '-__-');
  assert.deepEqual(decodeBase64('-__-'), bytes);
  assert.deepEqual(decodeBase64('Zm8='), Buffer.from('fo'));
});

test('the test key has key ID ed25519:1', () => {
  assert.equal(KEY.keyId, 'ed25519:1');
  assert.equal(SEED.length, 32);
});

test('JSON signing: the empty object', () => {
  assert.deepEqual(signJson({}, SERVER_NAME, KEY), {
    signatures: {
      domain: { 'ed25519:1': 'K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ' },
    },
  });
});

test('JSON signing: an object with data values', () => {
  const signed = signJson({ one: 1, two: 'Two' }, SERVER_NAME, KEY);
  assert.deepEqual(signed, {
    one: 1,
    signatures: {
      domain: { 'ed25519:1': 'KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw' },
    },
    two: 'Two',
  });
  assert.ok(verifyJsonSignature(signed, SERVER_NAME, 'ed25519:1', KEY.publicKeyBase64));
  assert.ok(!verifyJsonSignature({ ...signed, two: 'Three' }, SERVER_NAME, 'ed25519:1', KEY.publicKeyBase64));
});

test('JSON signing ignores unsigned and keeps existing signatures', () => {
  const signed = signJson({ a: 1, unsigned: { age: 5 }, signatures: { other: { 'ed25519:x': 'abc' } } }, SERVER_NAME, KEY);
  assert.deepEqual(signed.unsigned, { age: 5 });
  assert.equal(signed.signatures.other['ed25519:x'], 'abc');
  assert.ok(verifyJsonSignature({ ...signed, unsigned: { age: 99 } }, SERVER_NAME, 'ed25519:1', KEY.publicKeyBase64));
});

// The spec's event vectors use pre-v11 redaction (they keep `origin`); v10's algorithm gives the same stripped form.
test('event signing: a minimally-sized event', () => {
  const event = {
    room_id: '!x:domain', sender: '@a:domain', origin: 'domain', origin_server_ts: 1000000,
    signatures: {}, hashes: {}, type: 'X', content: {}, prev_events: [], auth_events: [], depth: 3,
    unsigned: { age_ts: 1000000 },
  };
  const signed = signEvent(event, '10', SERVER_NAME, KEY);
  assert.deepEqual(signed, {
    auth_events: [],
    content: {},
    depth: 3,
    hashes: { sha256: '5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos' },
    origin: 'domain',
    origin_server_ts: 1000000,
    prev_events: [],
    room_id: '!x:domain',
    sender: '@a:domain',
    signatures: {
      domain: { 'ed25519:1': 'KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg' },
    },
    type: 'X',
    unsigned: { age_ts: 1000000 },
  });
  assert.ok(verifyEventSignature(signed, '10', SERVER_NAME, 'ed25519:1', KEY.publicKeyBase64));
});

test('event signing: an event with redactable content', () => {
  const event = {
    content: { body: 'Here is the message content' },
    event_id: '$0:domain', origin: 'domain', origin_server_ts: 1000000, type: 'm.room.message',
    room_id: '!r:domain', sender: '@u:domain', signatures: {}, unsigned: { age_ts: 1000000 },
  };
  assert.equal(encodeUnpaddedBase64(contentHash(event)), 'onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g');
  const signed = signEvent(event, '10', SERVER_NAME, KEY);
  assert.deepEqual(signed, {
    content: { body: 'Here is the message content' },
    event_id: '$0:domain',
    hashes: { sha256: 'onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g' },
    origin: 'domain',
    origin_server_ts: 1000000,
    type: 'm.room.message',
    room_id: '!r:domain',
    sender: '@u:domain',
    signatures: {
      domain: { 'ed25519:1': 'Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA' },
    },
    unsigned: { age_ts: 1000000 },
  });
  // The signature covers the redacted form: the body is gone, the hash of the full event stays.
  const redacted = redactEvent(signed, '10');
  assert.deepEqual(redacted.content, {});
  assert.equal(redacted.unsigned, undefined);
  assert.ok(verifyJsonSignature(redacted, SERVER_NAME, 'ed25519:1', KEY.publicKeyBase64));
  assert.ok(verifyJsonSignature({ ...redacted, content: { body: 'Here is the message content' } }, SERVER_NAME, 'ed25519:1', KEY.publicKeyBase64) === false);
});

test('event signing in v11 leaves origin out of the signed form', () => {
  const event = {
    room_id: '!x:domain', sender: '@a:domain', origin: 'domain', origin_server_ts: 1000000,
    type: 'X', content: {}, prev_events: [], auth_events: [], depth: 3,
  };
  const v10 = signEvent(event, '10', SERVER_NAME, KEY);
  const v11 = signEvent(event, '11', SERVER_NAME, KEY);
  assert.equal(v10.hashes.sha256, v11.hashes.sha256);
  assert.notEqual(v10.signatures.domain['ed25519:1'], v11.signatures.domain['ed25519:1']);
  // Changing origin breaks the content hash but not the v11 signature.
  assert.ok(verifyEventSignature({ ...v11, origin: 'elsewhere' }, '11', SERVER_NAME, 'ed25519:1', KEY.publicKeyBase64));
  assert.ok(!verifyEventSignature({ ...v10, origin: 'elsewhere' }, '10', SERVER_NAME, 'ed25519:1', KEY.publicKeyBase64));
});
