import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MatrixError } from '../../../server/errors.ts';
import { filterAllowsRoom, filterAllowsType, parseRoomEventFilter } from '../../../server/rooms/room-event-filter.ts';

test('type patterns: exact, `*` wildcards anywhere, regex metacharacters taken literally; not_types wins', () => {
  const filter = { types: ['m.room.*', 'org.example.note', 'a+b'], not_types: ['m.room.member'] };
  assert.equal(filterAllowsType(filter, 'm.room.name'), true);
  assert.equal(filterAllowsType(filter, 'm.room.member'), false);
  assert.equal(filterAllowsType(filter, 'org.example.note'), true);
  assert.equal(filterAllowsType(filter, 'org.example.notes'), false);
  assert.equal(filterAllowsType(filter, 'a+b'), true);
  assert.equal(filterAllowsType(filter, 'aab'), false);
  assert.equal(filterAllowsType({ types: ['*.topic'] }, 'm.room.topic'), true);
  assert.equal(filterAllowsType({ types: [] }, 'm.room.topic'), false, 'an empty list matches nothing');
  assert.equal(filterAllowsType({}, 'anything'), true);
});

test('rooms and not_rooms: not_rooms wins', () => {
  assert.equal(filterAllowsRoom({ rooms: ['!a:x'], not_rooms: ['!a:x'] }, '!a:x'), false);
  assert.equal(filterAllowsRoom({ rooms: ['!a:x'] }, '!b:x'), false);
  assert.equal(filterAllowsRoom({}, '!b:x'), true);
});

test('the filter parameter: absent is empty; bad JSON and bad shapes are 400s naming the problem', () => {
  assert.deepEqual(parseRoomEventFilter(undefined), {});
  assert.deepEqual(parseRoomEventFilter('{"types":["m.room.message"],"unknown":1}').types, ['m.room.message']);
  const refusal = (text: string) => {
    try {
      parseRoomEventFilter(text);
    } catch (error) {
      assert.ok(error instanceof MatrixError);
      return [error.errcode, error.message] as const;
    }
    assert.fail(`${text} was accepted`);
  };
  assert.equal(refusal('{')[0], 'M_BAD_JSON');
  const [errcode, message] = refusal('{"senders":"@a:x"}');
  assert.equal(errcode, 'M_INVALID_PARAM');
  assert.match(message, /senders/);
  assert.equal(refusal('{"limit":0}')[0], 'M_INVALID_PARAM');
});
