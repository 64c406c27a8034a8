import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combineRequiredState, coveredBy, exactPairs, requiredStateKey, requiredStateMatcher, requiredStateOf } from '../../../server/sliding-sync/required-state.ts';

const ME = '@me:example.org';

test('tuples: exact keys, wildcards and $ME', () => {
  const match = requiredStateMatcher(requiredStateOf([['m.room.name', ''], ['m.room.member', '$ME'], ['m.space.child', '*'], ['*', 'shared-key']]), ME);
  assert.equal(match('m.room.name', ''), true);
  assert.equal(match('m.room.topic', ''), false);
  assert.equal(match('m.room.member', ME), true);
  assert.equal(match('m.room.member', '@other:example.org'), false);
  assert.equal(match('m.space.child', '!any:example.org'), true);
  assert.equal(match('org.example.thing', 'shared-key'), true);
});

test('$LAZY turns lazy members on, and ["*", "*"] then leaves member events to it', () => {
  const state = requiredStateOf([['m.room.member', '$LAZY'], ['*', '*']]);
  assert.equal(state.lazyMembers, true);
  const match = requiredStateMatcher(state, ME);
  assert.equal(match('m.room.create', ''), true);
  assert.equal(match('m.room.member', '@anyone:example.org'), false);
  // An explicit member entry still counts.
  assert.equal(requiredStateMatcher(requiredStateOf([['m.room.member', '$LAZY'], ['m.room.member', '$ME']]), ME)('m.room.member', ME), true);
});

test("the MSC's object form: include, exclude, lazy_members", () => {
  const state = requiredStateOf({ include: [{}], exclude: [{ type: 'm.room.create', state_key: '' }], lazy_members: true });
  const match = requiredStateMatcher(state, ME);
  assert.equal(match('m.room.power_levels', ''), true);
  assert.equal(match('m.room.create', ''), false);
  assert.equal(match('m.room.member', ME), false);
  assert.equal(requiredStateMatcher(requiredStateOf({ include: [{ state_key: '' }] }), ME)('anything', ''), true);
});

test('combining is a superset; excludes survive only where every config has them', () => {
  const a = requiredStateOf({ include: [{}], exclude: [{ type: 'm.room.create', state_key: '' }] });
  const b = requiredStateOf([['m.room.create', '']]);
  const combined = combineRequiredState([a, b]);
  assert.equal(requiredStateMatcher(combined, ME)('m.room.create', ''), true);
  assert.equal(combineRequiredState([requiredStateOf([['m.room.member', '$LAZY']]), b]).lazyMembers, true);
  assert.equal(requiredStateKey(combineRequiredState([b, b])), requiredStateKey(b), 'the same config gives the same key');
});

test('exact pairs are read by key; any wildcard means reading all state', () => {
  assert.deepEqual(exactPairs(requiredStateOf([['m.room.name', ''], ['m.room.member', '$ME']]), ME), [
    { type: 'm.room.name', state_key: '' },
    { type: 'm.room.member', state_key: ME },
  ]);
  assert.equal(exactPairs(requiredStateOf([['m.room.name', ''], ['*', '*']]), ME), undefined);
  assert.deepEqual(exactPairs(requiredStateOf([]), ME), []);
});

test('a narrower config is covered by a wider one; lazy members and excludes count', () => {
  const all = requiredStateOf([['*', '*']]);
  const name = requiredStateOf([['m.room.name', '']]);
  assert.equal(coveredBy(name, all), true);
  assert.equal(coveredBy(all, name), false);
  assert.equal(coveredBy(requiredStateOf([['m.room.member', '$LAZY'], ['*', '*']]), all), true);
  assert.equal(coveredBy(all, requiredStateOf([['m.room.member', '$LAZY'], ['*', '*']])), false, 'lazy members sent fewer members');
  const allButCreate = requiredStateOf({ include: [{}], exclude: [{ type: 'm.room.create', state_key: '' }] });
  assert.equal(coveredBy(all, allButCreate), false);
  assert.equal(coveredBy(allButCreate, all), true);
});
