import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventTypeMatcherOf } from '../../../server/sync/event-type-filter.ts';

test('event type filters: types, not_types and * wildcards, as the spec describes them', () => {
  const all = eventTypeMatcherOf(undefined);
  assert.equal(all('m.typing'), true);
  const none = eventTypeMatcherOf({ types: [] });
  assert.equal(none('m.presence'), false, 'an empty types list allows nothing');
  const only = eventTypeMatcherOf({ types: ['m.typing', 'org.example.*'] });
  assert.deepEqual(['m.typing', 'm.receipt', 'org.example.a.b', 'org.exampleX'].map(only), [true, false, true, false]);
  const notSome = eventTypeMatcherOf({ types: ['m.*'], not_types: ['m.receipt'] });
  assert.deepEqual(['m.typing', 'm.receipt', 'x.y'].map(notSome), [true, false, false], 'not_types wins over types');
  const literal = eventTypeMatcherOf({ types: ['a.b(c)+'] });
  assert.deepEqual(['a.b(c)+', 'aXb(c)+', 'a.bcc'].map(literal), [true, false, false], 'only * is special');
});
