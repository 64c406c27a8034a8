import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crossSigningPublicKey, hasValidSignature, isBase64Key32, ownSignaturesOnly, sameSignedContent, splitKeyName } from '../../../server/e2ee/key-json.ts';
import { assertStorable } from '../../../server/http/storable-json.ts';
import { MatrixError } from '../../../server/errors.ts';
import { ed25519Key, signed } from '../../support/e2ee-keys.ts';

test('splitKeyName splits at the first colon and refuses empty parts', () => {
  assert.deepEqual(splitKeyName('signed_curve25519:AAAAHQ'), { algorithm: 'signed_curve25519', keyId: 'AAAAHQ' });
  assert.deepEqual(splitKeyName('ed25519:a:b'), { algorithm: 'ed25519', keyId: 'a:b' });
  for (const bad of ['nocolon', ':id', 'alg:']) assert.equal(splitKeyName(bad), null, bad);
});

test('isBase64Key32 wants unpadded base64 of exactly 32 bytes', () => {
  const key = ed25519Key().publicKey;
  assert.equal(isBase64Key32(key), true);
  assert.equal(isBase64Key32(`${key}=`), false);
  assert.equal(isBase64Key32(key.slice(1)), false);
  assert.equal(isBase64Key32('-'.repeat(43)), false);
});

test('signatures verify over the object without signatures and unsigned, and nothing else', () => {
  const key = ed25519Key();
  const object = signed({ user_id: '@a:x', keys: { a: 'b' }, unsigned: { note: 'not covered' } }, '@a:x', 'ed25519:DEV', key);
  assert.equal(hasValidSignature(object, '@a:x', 'ed25519:DEV', key.publicKey), true);
  assert.equal(hasValidSignature({ ...object, unsigned: { other: 1 } }, '@a:x', 'ed25519:DEV', key.publicKey), true);
  assert.equal(hasValidSignature({ ...object, keys: { a: 'c' } }, '@a:x', 'ed25519:DEV', key.publicKey), false);
  assert.equal(hasValidSignature(object, '@a:x', 'ed25519:DEV', ed25519Key().publicKey), false);
  assert.equal(hasValidSignature({ ...object, float: 1.5 }, '@a:x', 'ed25519:DEV', key.publicKey), false, 'non-canonical JSON never verifies');
  assert.equal(hasValidSignature(object, '@a:x', 'ed25519:DEV', 'not a key'), false);
});

test('sameSignedContent ignores signatures and unsigned and never throws', () => {
  assert.equal(sameSignedContent({ a: 1, signatures: { x: {} } }, { a: 1, unsigned: {} }), true);
  assert.equal(sameSignedContent({ a: 1 }, { a: 2 }), false);
  assert.equal(sameSignedContent({ a: 1.5 }, { a: 1.5 }), false);
  assert.equal(sameSignedContent('k', 'k'), true);
});

test('ownSignaturesOnly keeps only the owner’s signatures', () => {
  const object = { signatures: { '@a:x': { 'ed25519:A': 's' }, '@b:x': { 'ed25519:B': 't' } } };
  assert.deepEqual(ownSignaturesOnly(object, '@a:x').signatures, { '@a:x': { 'ed25519:A': 's' } });
  assert.deepEqual(ownSignaturesOnly<{ signatures?: Record<string, Record<string, string>> }>({}, '@a:x').signatures, {});
});

test('crossSigningPublicKey wants one ed25519:<key> entry naming its own value', () => {
  const pub = ed25519Key().publicKey;
  const base = { user_id: '@a:x', usage: ['master'] };
  assert.equal(crossSigningPublicKey({ ...base, keys: { [`ed25519:${pub}`]: pub } }), pub);
  assert.equal(crossSigningPublicKey({ ...base, keys: { [`curve25519:${pub}`]: pub } }), null);
  assert.equal(crossSigningPublicKey({ ...base, keys: { 'ed25519:other': pub } }), null);
  assert.equal(crossSigningPublicKey({ ...base, keys: {} }), null);
});

test('assertStorable refuses NUL, unpaired surrogates and runaway nesting with M_BAD_JSON', () => {
  assertStorable({ a: ['fine', 'émoji 🎉', 1, null] }, 'x');
  let deep: unknown = 'leaf';
  for (let i = 0; i < 100; i++) deep = [deep];
  for (const bad of ['a\u0000b', { 'k\u0000': 1 }, ['\ud800'], { a: { b: '\udc00x' } }, deep]) {
    assert.throws(() => assertStorable(bad, 'the thing'), (error: unknown) => error instanceof MatrixError && error.errcode === 'M_BAD_JSON' && error.message.includes('the thing'));
  }
});
