import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkEventAuth } from '../../../server/rooms/auth-rules.ts';
import { checkRedactionTarget } from '../../../server/rooms/redaction-auth.ts';
import { ALICE, BOB, CAROL, MALLORY, apply, createRoom, makeEvent } from './fixtures.ts';

// Spec: "Handling redactions". Alice is admin (100), Bob moderator (50), Carol and Mallory members (0).
for (const version of ['10', '11'] as const) {
  const setUp = () => {
    const room = createRoom({
      version, joinRule: 'public', powerLevels: { users: { [ALICE]: 100, [BOB]: 50 } },
      members: { [BOB]: 'join', [CAROL]: 'join', [MALLORY]: 'join' },
    });
    const post = (sender: string) => apply(room, makeEvent(room, { sender, type: 'm.room.message', content: { body: `from ${sender}` } }));
    const redact = (sender: string, target: { event_id: string }) => makeEvent(room, { sender, type: 'm.room.redaction', content: {}, redacts: target.event_id });
    return { room, post, redact };
  };

  test(`v${version}: who may redact what`, () => {
    const { room, post, redact } = setUp();
    const fromCarol = post(CAROL);
    const fromAlice = post(ALICE);
    const fromMallory = post(MALLORY);
    const check = (sender: string, target: typeof fromCarol, scope: 'client' | 'federation') =>
      checkRedactionTarget(redact(sender, target), target, room.state, version, scope);

    // Everyone's redaction event passes the auth rules; only the redaction check uses the redact level.
    assert.deepEqual(checkEventAuth(redact(CAROL, fromAlice), room.state, version), { allowed: true });

    assert.deepEqual(check(CAROL, fromCarol, 'client'), { allowed: true }, 'own event');
    assert.deepEqual(check(BOB, fromCarol, 'client'), { allowed: true }, 'moderator');
    assert.deepEqual(check(BOB, fromAlice, 'client'), { allowed: true }, 'the redact level is not compared with the target sender');
    assert.deepEqual(check(CAROL, fromAlice, 'client'), {
      allowed: false,
      reason: `sender's power level 0 is below the 50 needed to redact ${ALICE}'s events`,
    });
    // Over federation the spec trusts the target sender's server for its own users.
    assert.deepEqual(check(CAROL, fromAlice, 'federation'), { allowed: true });
    assert.equal(check(MALLORY, fromCarol, 'federation').allowed, false);
    assert.equal(check(CAROL, fromMallory, 'federation').allowed, false);
    assert.deepEqual(check(MALLORY, fromMallory, 'federation'), { allowed: true });
  });

  test(`v${version}: the redaction must name the target, in the same room`, () => {
    const { room, post, redact } = setUp();
    const first = post(CAROL);
    const second = post(CAROL);
    const result = checkRedactionTarget(redact(CAROL, first), second, room.state, version, 'client');
    assert.equal(result.allowed, false);
    const message = makeEvent(room, { sender: CAROL, type: 'm.room.message', content: {} });
    assert.equal(checkRedactionTarget(message, first, room.state, version, 'client').allowed, false);
    const other = createRoom({ version });
    const elsewhere = apply(other, makeEvent(other, { sender: ALICE, type: 'm.room.message', content: {} }));
    const crossRoom = checkRedactionTarget(redact(ALICE, elsewhere), elsewhere, room.state, version, 'client');
    assert.ok(!crossRoom.allowed && /another room/.test(crossRoom.reason), 'cross-room redaction');
  });
}

test('a redact level of 0 lets every member redact anything', () => {
  const room = createRoom({ powerLevels: { users: { [ALICE]: 100 }, redact: 0 }, members: { [CAROL]: 'join' } });
  const target = apply(room, makeEvent(room, { sender: ALICE, type: 'm.room.message', content: {} }));
  const redaction = makeEvent(room, { sender: CAROL, type: 'm.room.redaction', content: {}, redacts: target.event_id });
  assert.deepEqual(checkRedactionTarget(redaction, target, room.state, '11', 'client'), { allowed: true });
});
