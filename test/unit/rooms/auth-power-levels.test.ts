import { test } from 'node:test';
import assert from 'node:assert/strict';
import { namedPowerLevel, powerLevelOf, requiredPowerLevel } from '../../../server/rooms/auth-rules.ts';
import { ALICE, BOB, CAROL, createRoom, runAuthCases, setState } from './fixtures.ts';

// Rule 9: m.room.power_levels. Alice is the admin (100), Bob a moderator (50), Carol a member.
const BASE = { users: { [ALICE]: 100, [BOB]: 50, [CAROL]: 10 }, kick: 50, ban: 50, events: { 'm.room.name': 50, 'm.room.power_levels': 50, 'm.room.tombstone': 100 } };
const room = { powerLevels: BASE, members: { [BOB]: 'join', [CAROL]: 'join' } };
const change = (sender: string, content: Record<string, unknown>) => ({ sender, type: 'm.room.power_levels', stateKey: '', content });
const withUsers = (users: Record<string, unknown>) => ({ ...BASE, users: { ...BASE.users, ...users } });

runAuthCases([
  { name: 'an admin promotes a member to moderator', room, event: change(ALICE, withUsers({ [CAROL]: 50 })), allowed: true },
  { name: 'an admin may make another admin (equal to their own level)', room, event: change(ALICE, withUsers({ [CAROL]: 100 })), allowed: true },
  { name: 'nobody grants a level above their own', room, event: change(ALICE, withUsers({ [CAROL]: 101 })), allowed: false, reason: /cannot set the power level of @carol:\S+ to 101, above their own/ },
  { name: 'a moderator cannot raise their own power level', room, event: change(BOB, withUsers({ [BOB]: 100 })), allowed: false, reason: /sender's power level 50 cannot set the power level of @bob:\S+ to 100/ },
  { name: 'a moderator may lower their own power level', room, event: change(BOB, withUsers({ [BOB]: 0 })), allowed: true },
  { name: 'a moderator demotes a user below them', room, event: change(BOB, withUsers({ [CAROL]: 0 })), allowed: true },
  { name: 'a moderator removes a user entry below them', room, event: change(BOB, { ...BASE, users: { [ALICE]: 100, [BOB]: 50 } }), allowed: true },
  { name: 'a moderator cannot demote an equal', room: { ...room, powerLevels: withUsers({ [CAROL]: 50 }) }, event: change(BOB, withUsers({ [CAROL]: 0 })), allowed: false, reason: /current value 50 is not below the sender's/ },
  { name: 'a moderator cannot demote the admin', room, event: change(BOB, withUsers({ [ALICE]: 0 })), allowed: false, reason: /the power level of @alice/ },
  { name: 'a moderator cannot remove the admin entry', room, event: change(BOB, { ...BASE, users: { [BOB]: 50, [CAROL]: 10 } }), allowed: false },
  { name: 'a moderator lowers the kick level', room, event: change(BOB, { ...BASE, kick: 40 }), allowed: true },
  { name: 'a moderator cannot set the ban level above their own', room, event: change(BOB, { ...BASE, ban: 60 }), allowed: false, reason: /"ban" to 60/ },
  { name: 'a moderator cannot change a level that is above their own', room: { ...room, powerLevels: { ...BASE, state_default: 75 } }, event: change(BOB, { ...BASE, state_default: 40 }), allowed: false, reason: /"state_default": its current value 75 is above/ },
  { name: 'a moderator cannot remove a level above their own', room: { ...room, powerLevels: { ...BASE, invite: 75 } }, event: change(BOB, BASE), allowed: false, reason: /"invite"/ },
  { name: 'a moderator changes an event level up to their own', room, event: change(BOB, { ...BASE, events: { ...BASE.events, 'm.room.topic': 50 } }), allowed: true },
  { name: 'a moderator cannot set an event level above their own', room, event: change(BOB, { ...BASE, events: { ...BASE.events, 'm.room.topic': 51 } }), allowed: false, reason: /events "m\.room\.topic" to 51/ },
  { name: 'a moderator cannot change an event level above their own', room, event: change(BOB, { ...BASE, events: { ...BASE.events, 'm.room.tombstone': 50 } }), allowed: false, reason: /events "m\.room\.tombstone"/ },
  { name: 'a moderator cannot raise a notification level above their own', room, event: change(BOB, { ...BASE, notifications: { room: 75 } }), allowed: false, reason: /notifications "room"/ },
  { name: 'a member below the power levels event level cannot change it at all', room, event: change(CAROL, withUsers({ [CAROL]: 10 })), allowed: false, reason: /needed to send m\.room\.power_levels/ },
  { name: 'the first power levels event is allowed by the creator', room: { powerLevels: null }, event: change(ALICE, { users: { [ALICE]: 100, [BOB]: 100 } }), allowed: true },
]);

// Rules 9.1 to 9.3 (v10+): integers only, user IDs as keys.
runAuthCases([
  { name: 'a string level is refused', room, event: change(ALICE, { ...BASE, kick: '50' }), allowed: false, reason: /"kick" must be an integer in room version 1[01], got "50"/ },
  { name: 'a string users_default is refused', room, event: change(ALICE, { ...BASE, users_default: '0' }), allowed: false, reason: /users_default/ },
  { name: 'a null level is refused', room, event: change(ALICE, { ...BASE, redact: null }), allowed: false, reason: /"redact"/ },
  { name: 'a string event level is refused', room, event: change(ALICE, { ...BASE, events: { ...BASE.events, 'm.room.name': '50' } }), allowed: false, reason: /events "m\.room\.name" must be an integer/ },
  { name: 'events that are not an object are refused', room, event: change(ALICE, { ...BASE, events: [50] }), allowed: false, reason: /"events" in power levels must be an object/ },
  { name: 'a string notification level is refused', room, event: change(ALICE, { ...BASE, notifications: { room: '50' } }), allowed: false, reason: /notifications "room"/ },
  { name: 'a string user level is refused', room, event: change(ALICE, withUsers({ [CAROL]: '10' })), allowed: false, reason: /power level of @carol:\S+ must be an integer/ },
  { name: 'a users key that is not a user ID is refused', room, event: change(ALICE, withUsers({ carol: 10 })), allowed: false, reason: /"carol" in power levels "users" is not a valid user ID/ },
  { name: 'users that are not an object are refused', room, event: change(ALICE, { ...BASE, users: 'all' }), allowed: false, reason: /"users" in power levels must be an object/ },
  { name: 'malformed content is refused even for the first power levels event', room: { powerLevels: null }, event: change(ALICE, { ban: '50' }), allowed: false },
]);

test('power level helpers read explicit values and fall back to the spec defaults', () => {
  const r = createRoom({ powerLevels: { users: { [ALICE]: 100 }, users_default: 5, events: { 'm.room.message': 1 } } });
  const pl = r.state.get(JSON.stringify(['m.room.power_levels', '']));
  assert.equal(powerLevelOf(ALICE, pl, r.create), 100);
  assert.equal(powerLevelOf(BOB, pl, r.create), 5);
  assert.equal(requiredPowerLevel('m.room.message', undefined, pl), 1);
  assert.equal(requiredPowerLevel('m.room.encrypted', undefined, pl), 0);
  assert.equal(requiredPowerLevel('m.room.topic', '', pl), 50);
  assert.deepEqual(['invite', 'kick', 'ban', 'redact'].map((name) => namedPowerLevel(name as 'invite', pl)), [0, 50, 50, 50]);
  // Without power levels: the creator has 100, everyone else 0; state needs 50.
  assert.equal(powerLevelOf(ALICE, undefined, r.create), 100);
  assert.equal(powerLevelOf(BOB, undefined, r.create), 0);
  assert.equal(requiredPowerLevel('m.room.topic', '', undefined), 50);
  const pl2 = setState(r, ALICE, 'm.room.power_levels', '', { users: {}, kick: 20, redact: 0 });
  assert.equal(namedPowerLevel('kick', pl2), 20);
  assert.equal(namedPowerLevel('redact', pl2), 0);
  assert.equal(powerLevelOf(ALICE, pl2, r.create), 0, 'an explicit power levels event replaces the creator rule');
});

test('the creator without power levels is content.creator in v10 and the sender in v11', () => {
  const v10 = createRoom({ version: '10', powerLevels: null });
  const v11 = createRoom({ version: '11', powerLevels: null });
  const forged = { ...v11.create, content: { ...v11.create.content, creator: BOB } };
  assert.equal(powerLevelOf(ALICE, undefined, v10.create), 100);
  assert.equal(powerLevelOf(ALICE, undefined, forged), 100);
  assert.equal(powerLevelOf(BOB, undefined, forged), 0);
  const v10Forged = { ...v10.create, content: { ...v10.create.content, creator: BOB } };
  assert.equal(powerLevelOf(BOB, undefined, v10Forged), 100);
});
