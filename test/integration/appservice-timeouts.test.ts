import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../support/server.ts';
import { registerUser, request } from '../support/http.ts';
import { createRoom, say } from '../support/rooms.ts';
import { makeRegistration, startFakeAppservice, writeRegistrationFiles } from '../support/appservice.ts';
import { assertRefusal } from '../support/refusals.ts';
import { waitFor } from '../support/wait-for.ts';
import { deferStack } from '../support/cleanup.ts';

// Complemau's PingErrorSurfacing/receiver_timeout, and transactions to an appservice that hangs.
const TIMEOUT_MS = 500;
/** The delivery job's first retry delay (1 s, doubling). */
const FIRST_BACKOFF_MS = 1_000;
/** Timers may fire a little early and requests arrive a little late: lower bounds keep this much slack. */
const SLACK_MS = 100;

async function start(t: Parameters<typeof deferStack>[0]) {
  const registration = makeRegistration('hung', { namespaces: { users: [{ regex: '@hung_.*:localhost', exclusive: true }], aliases: [], rooms: [] } });
  const fake = await startFakeAppservice(registration.hs_token);
  registration.url = fake.url;
  const defer = deferStack(t);
  defer(() => fake.close());
  const server = await startTestServer({
    app_service_config_files: writeRegistrationFiles([registration]),
    appservice_timeouts: { ping: `${TIMEOUT_MS}ms`, transaction: TIMEOUT_MS },
  });
  defer(() => server.stop());
  return { registration, fake, server };
}

test('a ping the appservice never answers fails after appservice_timeouts.ping with 504 M_CONNECTION_TIMEOUT', async (t) => {
  const { registration, fake, server } = await start(t);
  fake.hangPings = true;
  const path = '/_matrix/client/v1/appservice/{appserviceId}/ping';
  const result = await request(server.url, 'POST', '/_matrix/client/v1/appservice/hung/ping', { token: registration.as_token, body: { transaction_id: 'p1' } });
  await assertRefusal(result, { status: 504, errcode: 'M_CONNECTION_TIMEOUT', method: 'POST', path });
  assert.deepEqual(fake.pings, [{ transaction_id: 'p1' }]);

  fake.hangPings = false;
  const answered = await request(server.url, 'POST', '/_matrix/client/v1/appservice/hung/ping', { token: registration.as_token, body: {} });
  assert.equal(answered.status, 200, 'once it answers again, so does the ping');
});

test('transactions to a hung appservice time out and back off, one at a time, then everything arrives in order', async (t) => {
  const { registration, fake, server } = await start(t);
  const alice = await registerUser(server.url, 'alice');
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  fake.hangTransactions = true;
  const joined = await request(server.url, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`, { token: registration.as_token, body: {} });
  assert.equal(joined.status, 200);
  const sent: string[] = [];
  const hungAttempts = () => fake.transactions.filter((transaction) => transaction.answered === 0);
  // Messages sent while it hangs wake delivery again and again; none of that may open a second request.
  for (let n = 0; hungAttempts().length < 3; n++) {
    sent.push(`m${n}`);
    await say(server, alice, roomId, `m${n}`);
    await new Promise((resolveSoon) => setTimeout(resolveSoon, 100));
    assert.ok(n < 200, 'three attempts within 20 s');
  }
  const attempts = hungAttempts();
  assert.equal(fake.maxInFlight, 1, 'never more than one transaction in flight');
  assert.deepEqual(
    attempts.map((attempt) => attempt.txnId),
    attempts.map(() => attempts[0].txnId),
    'every attempt resends the same transaction',
  );
  for (let n = 1; n < attempts.length; n++) {
    // Lower bounds only: each attempt waited out the previous timeout plus a doubling backoff.
    const gap = attempts[n].receivedAt - attempts[n - 1].receivedAt;
    const atLeast = TIMEOUT_MS + FIRST_BACKOFF_MS * 2 ** (n - 1) - SLACK_MS;
    assert.ok(gap >= atLeast, `attempt ${n + 1} came ${Math.round(gap)} ms after the one before, expected at least ${atLeast} ms`);
  }

  fake.hangTransactions = false;
  const delivered = () =>
    fake
      .accepted()
      .flatMap((transaction) => transaction.body.events as Array<{ type: string; content: { body?: string } }>)
      .filter((event) => event.type === 'm.room.message')
      .map((event) => event.content.body);
  // No ping: the next retry after its backoff finds it answering.
  await waitFor('every message', async () => (delivered().length >= sent.length ? true : undefined), 30_000);
  assert.deepEqual(delivered(), sent, 'all of them, once each, in order');
  assert.equal(fake.accepted()[0].txnId, attempts[0].txnId, 'the hung transaction is the first accepted');
  assert.deepEqual(fake.accepted()[0].body, attempts[0].body, 'with the same events');
  assert.equal(fake.maxInFlight, 1);
});
