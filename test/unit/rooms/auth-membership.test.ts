import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkEventAuth } from '../../../server/rooms/auth-rules.ts';
import { buildEvent } from '../../../server/rooms/build-event.ts';
import { stateKey } from '../../../server/rooms/event.ts';
import {
  ALICE, BOB, CAROL, MALLORY, SERVER, SIGNING_KEY, authStateFor, createEventContent, createRoom, makeEvent,
  runAuthCases,
} from './fixtures.ts';

const join = (user: string, extra: Record<string, unknown> = {}) => ({
  sender: user, type: 'm.room.member', stateKey: user, content: { membership: 'join', ...extra },
});
const member = (sender: string, target: string, membership: string) => ({
  sender, type: 'm.room.member', stateKey: target, content: { membership },
});
const MODERATED = { users: { [ALICE]: 100, [BOB]: 50 } };

// Rule 4.3: joins.
runAuthCases([
  { name: 'anyone may join a public room', room: { joinRule: 'public' }, event: join(BOB), allowed: true },
  { name: 'joining an invite-only room uninvited is refused', room: { joinRule: 'invite' }, event: join(BOB), allowed: false, reason: /invite-only and @bob:\S+ has not been invited/ },
  { name: 'an invited user may join an invite-only room', room: { members: { [BOB]: 'invite' } }, event: join(BOB), allowed: true },
  { name: 'a joined user may re-join (profile change)', room: { members: { [BOB]: 'join' } }, event: join(BOB, { displayname: 'B' }), allowed: true },
  { name: 'an invited user may join a knock room', room: { joinRule: 'knock', members: { [BOB]: 'invite' } }, event: join(BOB), allowed: true },
  { name: 'a knocking user may not join a knock room before being invited', room: { joinRule: 'knock', members: { [BOB]: 'knock' } }, event: join(BOB), allowed: false, reason: /knock-only/ },
  { name: 'a banned user cannot rejoin, even a public room', room: { joinRule: 'public', members: { [BOB]: 'ban' } }, event: join(BOB), allowed: false, reason: /@bob:\S+ is banned/ },
  { name: 'nobody joins on behalf of someone else', room: { joinRule: 'public' }, event: { ...join(BOB), sender: ALICE }, allowed: false, reason: /on behalf of/ },
  { name: 'without a join rules event only the invited may join', room: { joinRule: null }, event: join(BOB), allowed: false, reason: /unset/ },
  { name: 'the private join rule admits nobody uninvited', room: { joinRule: 'private' }, event: join(BOB), allowed: false },
]);

// Rules 4.2 and 4.3.5: restricted and knock_restricted joins.
const restrictedRoom = (joinRule: string, users: Record<string, number> = { [ALICE]: 100 }, invite = 0) => ({
  joinRule, powerLevels: { users, invite },
});
runAuthCases([
  { name: 'restricted join vouched for by a joined user who can invite', room: restrictedRoom('restricted'), event: join(BOB, { join_authorised_via_users_server: ALICE }), allowed: true },
  { name: 'knock_restricted join vouched for by a joined user who can invite', room: restrictedRoom('knock_restricted'), event: join(BOB, { join_authorised_via_users_server: ALICE }), allowed: true },
  { name: 'restricted join without an authoriser is refused', room: restrictedRoom('restricted'), event: join(BOB), allowed: false, reason: /needs join_authorised_via_users_server/ },
  { name: 'restricted join vouched for by a non-member is refused', room: restrictedRoom('restricted'), event: join(BOB, { join_authorised_via_users_server: CAROL }), allowed: false, reason: /@carol:\S+, who authorised the join, is not a member/ },
  {
    name: 'restricted join vouched for by a member below the invite level is refused',
    room: { ...restrictedRoom('restricted', { [ALICE]: 100 }, 50), members: { [CAROL]: 'join' } },
    event: join(BOB, { join_authorised_via_users_server: CAROL }),
    allowed: false, reason: /power level 0, below the invite level 50/,
  },
  {
    name: 'restricted join vouched for by a user of a server that did not sign it is refused',
    room: { ...restrictedRoom('restricted', { [ALICE]: 100, [MALLORY]: 100 }), members: { [MALLORY]: 'join' } },
    event: join(BOB, { join_authorised_via_users_server: MALLORY }),
    allowed: false, reason: /not signed by evil\.example/,
  },
  { name: 'an invited user joins a restricted room without an authoriser', room: { ...restrictedRoom('restricted'), members: { [BOB]: 'invite' } }, event: join(BOB), allowed: true },
  { name: 'a knocking user cannot join a knock_restricted room without an authoriser', room: { ...restrictedRoom('knock_restricted'), members: { [BOB]: 'knock' } }, event: join(BOB), allowed: false },
  { name: 'a banned user cannot use an authoriser', room: { ...restrictedRoom('restricted'), members: { [BOB]: 'ban' } }, event: join(BOB, { join_authorised_via_users_server: ALICE }), allowed: false, reason: /banned/ },
]);

test('rule 4.2 asks the caller to verify the authorising server signature when it can', () => {
  const room = createRoom({ joinRule: 'restricted' });
  const event = makeEvent(room, join(BOB, { join_authorised_via_users_server: ALICE }));
  const seen: string[] = [];
  const refuse = checkEventAuth(event, authStateFor(room, event), '11', { isSignedBy: (_e, server) => (seen.push(server), false) });
  assert.deepEqual(seen, [SERVER]);
  assert.equal(refuse.allowed, false);
  assert.deepEqual(checkEventAuth(event, authStateFor(room, event), '11', { isSignedBy: () => true }), { allowed: true });
});

// Rule 4.3.1: the creator's first join.
for (const version of ['10', '11'] as const) {
  test(`v${version}: the creator joins right after the create event; nobody else does`, () => {
    const roomId = `!fresh:${SERVER}`;
    // In v11 a stale content.creator means nothing: the sender is the creator.
    const content = version === '10' ? createEventContent(version, ALICE) : { room_version: '11', creator: BOB };
    const create = buildEvent({
      roomVersion: version, roomId, sender: ALICE, type: 'm.room.create', stateKey: '', content,
      prevEvents: [], authEvents: [], depth: 1, originServerTs: 1, origin: SERVER, signingKey: SIGNING_KEY,
    });
    const state = new Map([[stateKey('m.room.create', ''), create]]);
    const firstJoin = (user: string, prev: string[]) => buildEvent({
      roomVersion: version, roomId, sender: user, type: 'm.room.member', stateKey: user, content: { membership: 'join' },
      prevEvents: prev, authEvents: [create.event_id], depth: 2, originServerTs: 2, origin: SERVER, signingKey: SIGNING_KEY,
    });
    assert.deepEqual(checkEventAuth(firstJoin(ALICE, [create.event_id]), state, version), { allowed: true });
    assert.equal(checkEventAuth(firstJoin(BOB, [create.event_id]), state, version).allowed, false);
    assert.equal(checkEventAuth(firstJoin(ALICE, [create.event_id, '$other']), state, version).allowed, false);
  });
}

// Rule 4.4: invites.
runAuthCases([
  { name: 'a member at the invite level invites', event: member(ALICE, BOB, 'invite'), allowed: true },
  { name: 'a non-member cannot invite', room: { members: { [CAROL]: 'leave' } }, event: member(CAROL, BOB, 'invite'), allowed: false, reason: /not joined/ },
  { name: 'an invite below the invite level is refused', room: { powerLevels: { users: { [ALICE]: 100 }, invite: 50 }, members: { [CAROL]: 'join' } }, event: member(CAROL, BOB, 'invite'), allowed: false, reason: /power level 0 is below the 50 needed to invite/ },
  { name: 'a joined user cannot be invited', room: { members: { [BOB]: 'join' } }, event: member(ALICE, BOB, 'invite'), allowed: false, reason: /already in the room/ },
  { name: 'a banned user cannot be invited', room: { members: { [BOB]: 'ban' } }, event: member(ALICE, BOB, 'invite'), allowed: false, reason: /banned/ },
  { name: 'a user who left can be invited again', room: { members: { [BOB]: 'leave' } }, event: member(ALICE, BOB, 'invite'), allowed: true },
]);

// Rule 4.5: leaving, kicking, unbanning.
runAuthCases([
  { name: 'a member leaves', room: { members: { [BOB]: 'join' } }, event: member(BOB, BOB, 'leave'), allowed: true },
  { name: 'an invitee rejects the invite', room: { members: { [BOB]: 'invite' } }, event: member(BOB, BOB, 'leave'), allowed: true },
  { name: 'a knocker withdraws the knock', room: { joinRule: 'knock', members: { [BOB]: 'knock' } }, event: member(BOB, BOB, 'leave'), allowed: true },
  { name: 'a banned user cannot lift their own ban by leaving', room: { members: { [BOB]: 'ban' } }, event: member(BOB, BOB, 'leave'), allowed: false, reason: /membership is ban/ },
  { name: 'a stranger cannot leave', event: member(BOB, BOB, 'leave'), allowed: false },
  { name: 'a moderator kicks a regular member', room: { powerLevels: MODERATED, members: { [BOB]: 'join', [CAROL]: 'join' } }, event: member(BOB, CAROL, 'leave'), allowed: true },
  { name: 'an under-powered user cannot kick', room: { members: { [BOB]: 'join', [CAROL]: 'join' } }, event: member(CAROL, BOB, 'leave'), allowed: false, reason: /power level 0 is below the 50 needed to kick/ },
  { name: 'a moderator cannot kick an admin', room: { powerLevels: MODERATED, members: { [BOB]: 'join' } }, event: member(BOB, ALICE, 'leave'), allowed: false, reason: /not above @alice:\S+'s 100/ },
  { name: 'a user cannot kick an equal', room: { powerLevels: { users: { [ALICE]: 100, [BOB]: 50, [CAROL]: 50 } }, members: { [BOB]: 'join', [CAROL]: 'join' } }, event: member(BOB, CAROL, 'leave'), allowed: false },
  { name: 'a kicker must be joined', room: { powerLevels: MODERATED, members: { [BOB]: 'leave', [CAROL]: 'join' } }, event: member(BOB, CAROL, 'leave'), allowed: false, reason: /not joined/ },
  { name: 'a moderator with the ban level unbans', room: { powerLevels: MODERATED, members: { [BOB]: 'join', [CAROL]: 'ban' } }, event: member(BOB, CAROL, 'leave'), allowed: true },
  {
    name: 'the kick level alone does not unban',
    room: { powerLevels: { users: { [ALICE]: 100, [BOB]: 50 }, kick: 0, ban: 75 }, members: { [BOB]: 'join', [CAROL]: 'ban' } },
    event: member(BOB, CAROL, 'leave'), allowed: false, reason: /below the 75 needed to unban/,
  },
]);

// Rule 4.6: bans.
runAuthCases([
  { name: 'a moderator bans a regular member', room: { powerLevels: MODERATED, members: { [BOB]: 'join', [CAROL]: 'join' } }, event: member(BOB, CAROL, 'ban'), allowed: true },
  { name: 'a moderator bans someone who never joined', room: { powerLevels: MODERATED, members: { [BOB]: 'join' } }, event: member(BOB, MALLORY, 'ban'), allowed: true },
  { name: 'an under-powered user cannot ban', room: { members: { [BOB]: 'join', [CAROL]: 'join' } }, event: member(CAROL, BOB, 'ban'), allowed: false, reason: /below the 50 needed to ban/ },
  { name: 'a moderator cannot ban an admin', room: { powerLevels: MODERATED, members: { [BOB]: 'join' } }, event: member(BOB, ALICE, 'ban'), allowed: false, reason: /cannot ban/ },
  { name: 'a banner must be joined', room: { powerLevels: MODERATED, members: { [BOB]: 'invite', [CAROL]: 'join' } }, event: member(BOB, CAROL, 'ban'), allowed: false, reason: /not joined/ },
]);

// Rule 4.7 and 4.8: knocks and unknown memberships.
runAuthCases([
  { name: 'a stranger knocks on a knock room', room: { joinRule: 'knock' }, event: member(BOB, BOB, 'knock'), allowed: true },
  { name: 'a stranger knocks on a knock_restricted room', room: { joinRule: 'knock_restricted' }, event: member(BOB, BOB, 'knock'), allowed: true },
  { name: 'a user who left knocks again', room: { joinRule: 'knock', members: { [BOB]: 'leave' } }, event: member(BOB, BOB, 'knock'), allowed: true },
  { name: 'knocking on an invite-only room is refused', room: { joinRule: 'invite' }, event: member(BOB, BOB, 'knock'), allowed: false, reason: /join rule is invite, which does not allow knocking/ },
  { name: 'knocking on a public room is refused', room: { joinRule: 'public' }, event: member(BOB, BOB, 'knock'), allowed: false },
  { name: 'knocking on a restricted room is refused', room: { joinRule: 'restricted' }, event: member(BOB, BOB, 'knock'), allowed: false },
  { name: 'nobody knocks on behalf of someone else', room: { joinRule: 'knock' }, event: member(ALICE, BOB, 'knock'), allowed: false, reason: /on behalf of/ },
  { name: 'a banned user cannot knock', room: { joinRule: 'knock', members: { [BOB]: 'ban' } }, event: member(BOB, BOB, 'knock'), allowed: false, reason: /already ban/ },
  { name: 'an invited user cannot knock', room: { joinRule: 'knock', members: { [BOB]: 'invite' } }, event: member(BOB, BOB, 'knock'), allowed: false },
  { name: 'a member cannot knock', room: { joinRule: 'knock', members: { [BOB]: 'join' } }, event: member(BOB, BOB, 'knock'), allowed: false },
  { name: 'an unknown membership is refused', event: member(ALICE, ALICE, 'lurk'), allowed: false, reason: /unknown membership "lurk"/ },
  { name: 'a member event without membership is refused', event: { sender: ALICE, type: 'm.room.member', stateKey: ALICE, content: {} }, allowed: false, reason: /needs content.membership/ },
  { name: 'a member event without a state_key is refused', event: { sender: ALICE, type: 'm.room.member', content: { membership: 'join' } }, allowed: false, reason: /needs a state_key/ },
]);

test('an m.room.member event with a non-string authoriser is refused', () => {
  const room = createRoom({ joinRule: 'restricted' });
  const event = makeEvent(room, join(BOB, { join_authorised_via_users_server: 42 }));
  assert.equal(checkEventAuth(event, room.state, '11').allowed, false);
});
