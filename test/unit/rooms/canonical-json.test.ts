import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, CanonicalJsonError } from '../../../server/rooms/canonical-json.ts';

// Every example in the spec's appendices, "Canonical JSON" > "Examples", given as the spec writes the input.
const SPEC_EXAMPLES: Array<[input: string, expected: string]> = [
  ['{}', '{}'],
  ['{\n    "one": 1,\n    "two": "Two"\n}', '{"one":1,"two":"Two"}'],
  ['{\n    "b": "2",\n    "a": "1"\n}', '{"a":"1","b":"2"}'],
  ['{"b":"2","a":"1"}', '{"a":"1","b":"2"}'],
  [
    `{
    "auth": {
        "success": true,
        "mxid": "@john.doe:example.com",
        "profile": {
            "display_name": "John Doe",
            "three_pids": [
                { "medium": "email", "address": "john.doe@example.org" },
                { "medium": "msisdn", "address": "123456789" }
            ]
        }
    }
}`,
    '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}',
  ],
  ['{\n    "a": "日本語"\n}', '{"a":"日本語"}'],
  ['{\n    "本": 2,\n    "日": 1\n}', '{"日":1,"本":2}'],
  ['{\n    "a": "\\u65E5"\n}', '{"a":"日"}'],
  ['{\n    "a": null\n}', '{"a":null}'],
  ['{\n    "a": -0,\n    "b": 1e10\n}', '{"a":0,"b":10000000000}'],
];

for (const [input, expected] of SPEC_EXAMPLES) {
  test(`spec example: ${expected}`, () => {
    assert.equal(canonicalJson(JSON.parse(input)), expected);
  });
}

test('escapes only what the grammar requires, with the short forms where they exist', () => {
  const value = { s: '\b\t\n\f\r"\\/\u0000\u0001\u000b\u001f\u007f\u2028é😀' };
  assert.equal(canonicalJson(value), '{"s":"\\b\\t\\n\\f\\r\\"\\\\/\\u0000\\u0001\\u000b\\u001f\u007f\u2028é😀"}');
});

test('sorts keys by code point, not by UTF-16 code unit', () => {
  // U+FB01 sorts before U+1F600 by code point, but after its surrogate pair (0xD83D) by code unit.
  assert.equal(canonicalJson({ '😀': 1, 'ﬁ': 2, Z: 3, a: 4, '': 5 }), '{"":5,"Z":3,"a":4,"ﬁ":2,"😀":1}');
});

test('sorts nested objects and keeps array order', () => {
  assert.equal(canonicalJson({ b: [{ d: 1, c: 2 }, 3], a: { z: true, y: false } }), '{"a":{"y":false,"z":true},"b":[{"c":2,"d":1},3]}');
});

test('accepts the integer range limits and refuses what lies outside it', () => {
  assert.equal(canonicalJson([2 ** 53 - 1, -(2 ** 53) + 1]), '[9007199254740991,-9007199254740991]');
  for (const bad of [1.5, 2 ** 53, -(2 ** 53), Number.NaN, Infinity]) {
    assert.throws(() => canonicalJson({ n: bad }), CanonicalJsonError, String(bad));
  }
});
