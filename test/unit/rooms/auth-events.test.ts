import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAuthEventsList, checkEventAuth, selectAuthEvents } from '../../../server/rooms/auth-rules.ts';
import { buildEvent } from '../../../server/rooms/build-event.ts';
import { stateKey } from '../../../server/rooms/event.ts';
import { ALICE, BOB, CAROL, MALLORY, SERVER, SIGNING_KEY, createEventContent, createRoom, makeEvent, runAuthCases, setState } from './fixtures.ts';

// Rule 1: m.room.create.
for (const version of ['10', '11'] as const) {
  const create = (overrides: { roomId?: string; sender?: string; content?: Record<string, unknown>; prevEvents?: string[] } = {}) => buildEvent({
    roomVersion: version, roomId: overrides.roomId ?? `!new:${SERVER}`, sender: overrides.sender ?? ALICE, type: 'm.room.create',
    stateKey: '', content: overrides.content ?? createEventContent(version, ALICE), prevEvents: overrides.prevEvents ?? [],
    authEvents: [], depth: 1, originServerTs: 1, origin: SERVER, signingKey: SIGNING_KEY,
  });
  const check = (event: ReturnType<typeof create>) => checkEventAuth(event, new Map(), version);

  test(`v${version}: create events`, () => {
    assert.deepEqual(check(create()), { allowed: true });
    assert.match(reasonOf(check(create({ prevEvents: ['$x'] }))), /cannot have prev_events/);
    assert.match(reasonOf(check(create({ roomId: '!new:elsewhere.example' }))), /of another server/);
    assert.match(reasonOf(check(create({ content: { ...createEventContent(version, ALICE), room_version: '99' } }))), /"99", which is not recognised/);
    assert.deepEqual(check(create({ content: version === '10' ? { creator: ALICE } : {} })), { allowed: true }, 'room_version may be absent');
  });
}

test('v10 create events must name their creator; v11 ones need not', () => {
  const build = (version: '10' | '11') => buildEvent({
    roomVersion: version, roomId: `!new:${SERVER}`, sender: ALICE, type: 'm.room.create', stateKey: '',
    content: { room_version: version }, prevEvents: [], authEvents: [], depth: 1, originServerTs: 1, origin: SERVER, signingKey: SIGNING_KEY,
  });
  assert.match(reasonOf(checkEventAuth(build('10'), new Map(), '10')), /must name its creator/);
  assert.deepEqual(checkEventAuth(build('11'), new Map(), '11'), { allowed: true });
});

// Rules 5 to 8: everything but membership and power levels.
const MODS = { users: { [ALICE]: 100, [BOB]: 50 } };
runAuthCases([
  { name: 'a member sends a message', room: { members: { [BOB]: 'join' } }, event: { sender: BOB, type: 'm.room.message', content: { body: 'hi' } }, allowed: true },
  { name: 'a non-member cannot send a message', event: { sender: BOB, type: 'm.room.message', content: { body: 'hi' } }, allowed: false, reason: /@bob:\S+ is not in the room \(membership: leave\)/ },
  { name: 'an invitee cannot send a message', room: { members: { [BOB]: 'invite' } }, event: { sender: BOB, type: 'm.room.message', content: {} }, allowed: false, reason: /membership: invite/ },
  {
    name: 'a regular member cannot rename the room',
    room: { members: { [BOB]: 'join' } },
    event: { sender: BOB, type: 'm.room.name', stateKey: '', content: { name: 'x' } },
    allowed: false, reason: /^sender's power level 0 is below the 50 needed to send m\.room\.name$/,
  },
  { name: 'a moderator renames the room', room: { powerLevels: MODS, members: { [BOB]: 'join' } }, event: { sender: BOB, type: 'm.room.name', stateKey: '', content: { name: 'x' } }, allowed: true },
  { name: 'events overrides the default for a message type', room: { powerLevels: { users: { [ALICE]: 100 }, events: { 'm.room.message': 10 } }, members: { [BOB]: 'join' } }, event: { sender: BOB, type: 'm.room.message', content: {} }, allowed: false, reason: /below the 10 needed to send m\.room\.message/ },
  { name: 'events_default governs messages', room: { powerLevels: { users: { [ALICE]: 100 }, events_default: 1 }, members: { [BOB]: 'join' } }, event: { sender: BOB, type: 'm.room.encrypted', content: {} }, allowed: false },
  { name: 'a regular member cannot change join rules', room: { members: { [BOB]: 'join' } }, event: { sender: BOB, type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'public' } }, allowed: false, reason: /m\.room\.join_rules/ },
  { name: 'a moderator changes join rules', room: { powerLevels: MODS, members: { [BOB]: 'join' } }, event: { sender: BOB, type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'knock' } }, allowed: true },
  { name: 'a regular member cannot change history visibility', room: { members: { [BOB]: 'join' } }, event: { sender: BOB, type: 'm.room.history_visibility', stateKey: '', content: { history_visibility: 'world_readable' } }, allowed: false, reason: /m\.room\.history_visibility/ },
  { name: 'an admin changes history visibility', event: { sender: ALICE, type: 'm.room.history_visibility', stateKey: '', content: { history_visibility: 'joined' } }, allowed: true },
  { name: 'nobody sets state keyed by another user ID', event: { sender: ALICE, type: 'org.example.status', stateKey: BOB, content: {} }, allowed: false, reason: /only @bob:\S+ may set state/ },
  { name: 'users set state keyed by their own ID', room: { powerLevels: { users: { [ALICE]: 100 }, state_default: 0 }, members: { [BOB]: 'join' } }, event: { sender: BOB, type: 'org.example.status', stateKey: BOB, content: {} }, allowed: true },
  { name: 'a third-party invite needs only the invite level, not state_default', room: { members: { [BOB]: 'join' } }, event: { sender: BOB, type: 'm.room.third_party_invite', stateKey: 'tok', content: {} }, allowed: true },
  { name: 'a third-party invite below the invite level is refused', room: { powerLevels: { users: { [ALICE]: 100 }, invite: 50 }, members: { [BOB]: 'join' } }, event: { sender: BOB, type: 'm.room.third_party_invite', stateKey: 'tok', content: {} }, allowed: false, reason: /needed to invite/ },
  { name: 'the redact level does not gate sending a redaction', room: { members: { [BOB]: 'join' } }, event: (room) => ({ sender: BOB, type: 'm.room.redaction', content: {}, redacts: room.create.event_id }), allowed: true },
  { name: 'events can gate redactions', room: { powerLevels: { users: { [ALICE]: 100 }, events: { 'm.room.redaction': 50 } }, members: { [BOB]: 'join' } }, event: (room) => ({ sender: BOB, type: 'm.room.redaction', content: {}, redacts: room.create.event_id }), allowed: false, reason: /needed to send m\.room\.redaction/ },
  { name: 'without power levels the creator may send state', room: { powerLevels: null }, event: { sender: ALICE, type: 'm.room.topic', stateKey: '', content: { topic: 't' } }, allowed: true },
  { name: 'without power levels others may not send state', room: { powerLevels: null, joinRule: 'public', members: { [BOB]: 'join' } }, event: { sender: BOB, type: 'm.room.topic', stateKey: '', content: { topic: 't' } }, allowed: false, reason: /power level 0 is below the 50/ },
]);

test('rule 3: a room with m.federate false refuses senders from other servers', () => {
  for (const version of ['10', '11'] as const) {
    const room = createRoom({ version, joinRule: 'public' });
    const content = { ...room.create.content, 'm.federate': false };
    const create = buildEvent({
      roomVersion: version, roomId: room.roomId, sender: ALICE, type: 'm.room.create', stateKey: '', content,
      prevEvents: [], authEvents: [], depth: 1, originServerTs: 1, origin: SERVER, signingKey: SIGNING_KEY,
    });
    room.state.set(stateKey('m.room.create', ''), create);
    setState(room, MALLORY, 'm.room.member', MALLORY, { membership: 'join' });
    const fromAfar = makeEvent(room, { sender: MALLORY, type: 'm.room.message', content: {} });
    assert.match(reasonOf(checkEventAuth(fromAfar, room.state, version)), /does not federate/);
    const local = makeEvent(room, { sender: ALICE, type: 'm.room.message', content: {} });
    assert.deepEqual(checkEventAuth(local, room.state, version), { allowed: true });
  }
});

test('rule 2: the state must contain the create event and belong to the room', () => {
  const room = createRoom();
  const message = makeEvent(room, { sender: ALICE, type: 'm.room.message', content: {} });
  const withoutCreate = new Map(room.state);
  withoutCreate.delete(stateKey('m.room.create', ''));
  assert.match(reasonOf(checkEventAuth(message, withoutCreate, '11')), /no m\.room\.create/);
  const other = createRoom();
  const mixed = new Map(room.state);
  mixed.set(stateKey('m.room.topic', ''), setState(other, ALICE, 'm.room.topic', '', { topic: 'x' }));
  assert.match(reasonOf(checkEventAuth(message, mixed, '11')), /belongs to another room/);
  assert.match(reasonOf(checkEventAuth(message, room.state, '9')), /not supported/);
});

test('auth events selection', () => {
  const room = createRoom({ joinRule: 'restricted', members: { [BOB]: 'invite' } });
  setState(room, ALICE, 'm.room.third_party_invite', 'tok', { public_key: 'k' });
  const id = (type: string, key = '') => room.state.get(stateKey(type, key))!.event_id;
  const base = [id('m.room.create'), id('m.room.power_levels')];
  assert.deepEqual(selectAuthEvents('m.room.create', '', ALICE, {}, room.state), []);
  assert.deepEqual(selectAuthEvents('m.room.message', undefined, ALICE, {}, room.state), [...base, id('m.room.member', ALICE)]);
  assert.deepEqual(selectAuthEvents('m.room.message', undefined, CAROL, {}, room.state), base, 'no member event, none cited');
  assert.deepEqual(
    selectAuthEvents('m.room.member', BOB, BOB, { membership: 'join' }, room.state),
    [...base, id('m.room.member', BOB), id('m.room.join_rules')],
  );
  assert.deepEqual(
    selectAuthEvents('m.room.member', CAROL, CAROL, { membership: 'join', join_authorised_via_users_server: ALICE }, room.state),
    [...base, id('m.room.join_rules'), id('m.room.member', ALICE)],
  );
  assert.deepEqual(selectAuthEvents('m.room.member', BOB, ALICE, { membership: 'leave' }, room.state), [...base, id('m.room.member', ALICE), id('m.room.member', BOB)]);
  assert.deepEqual(
    selectAuthEvents('m.room.member', CAROL, ALICE, { membership: 'invite', third_party_invite: { signed: { token: 'tok' } } }, room.state),
    [...base, id('m.room.member', ALICE), id('m.room.join_rules'), id('m.room.third_party_invite', 'tok')],
  );
  assert.deepEqual(
    selectAuthEvents('m.room.member', BOB, BOB, { membership: 'knock' }, room.state),
    [...base, id('m.room.member', BOB), id('m.room.join_rules')],
  );
});

test('rule 2: checking an event’s auth_events list', () => {
  const room = createRoom({ members: { [BOB]: 'join' } });
  const byKey = (type: string, key = '') => room.state.get(stateKey(type, key))!;
  const message = makeEvent(room, { sender: BOB, type: 'm.room.message', content: {} });
  const cited = [byKey('m.room.create'), byKey('m.room.power_levels'), byKey('m.room.member', BOB)];
  assert.deepEqual(checkAuthEventsList(message, cited), { allowed: true });
  const oldMembership = makeEvent(room, { sender: BOB, type: 'm.room.member', stateKey: BOB, content: { membership: 'join', displayname: 'B' } });
  assert.match(reasonOf(checkAuthEventsList(message, [...cited, oldMembership])), /more than one m\.room\.member/);
  assert.match(reasonOf(checkAuthEventsList(message, [...cited, byKey('m.room.join_rules')])), /does not authorise a m\.room\.message/);
  assert.match(reasonOf(checkAuthEventsList(message, cited.slice(1))), /do not include the m\.room\.create/);
  const elsewhere = createRoom();
  assert.match(reasonOf(checkAuthEventsList(message, [elsewhere.create, ...cited.slice(1)])), /another room/);
});

function reasonOf(result: { allowed: boolean; reason?: string }): string {
  assert.equal(result.allowed, false, 'expected a refusal');
  return result.reason ?? '';
}
