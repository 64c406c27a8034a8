import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { makeRegistration, startFakeAppservice, writeRegistrationFiles, type FakeAppservice } from '../support/appservice.ts';
import { MAX_EVENTS_PER_TRANSACTION } from '../../server/appservices/transactions.ts';
import { waitFor } from '../support/wait-for.ts';
import { deferStack } from '../support/cleanup.ts';

// Complemau's ToDeviceManyRecipients / ToDeviceBurstFansOut: bursts of to-device messages to many
// devices of a user two appservices share reach both, none lost, none twice, in order per sender.
const DEVICES = 150;
const ROUNDS = 3;
const GHOST = '@burst_ghost:localhost';

interface ToDevice {
  type: string;
  sender: string;
  to_user_id: string;
  to_device_id: string;
  content: { round?: number; terminal?: boolean };
}

test('a burst of to-device messages to 150 devices reaches both interested appservices, each exactly once, in order per sender', async (t) => {
  const namespaces = { users: [{ regex: '@burst_.*:localhost', exclusive: false }], aliases: [], rooms: [] };
  const first = makeRegistration('first', { namespaces, receive_ephemeral: true, 'io.element.msc4190': true });
  const second = makeRegistration('second', { namespaces, receive_ephemeral: true });
  const defer = deferStack(t);
  const fakes: FakeAppservice[] = [];
  for (const registration of [first, second]) {
    const fake = await startFakeAppservice(registration.hs_token);
    registration.url = fake.url;
    fakes.push(fake);
    defer(() => fake.close());
  }
  const server = await startTestServer({ app_service_config_files: writeRegistrationFiles([first, second]) });
  defer(() => server.stop());
  const as = (method: string, path: string, body: unknown, token = first.as_token) => request(server.url, method, path, { token, body });

  assert.equal((await as('POST', '/_matrix/client/v3/register', { type: 'm.login.application_service', username: 'burst_ghost', inhibit_login: true })).status, 200);
  const deviceIds = Array.from({ length: DEVICES }, (_, n) => `BURST_${String(n).padStart(3, '0')}`);
  for (const deviceId of deviceIds) {
    assert.equal((await as('PUT', `/_matrix/client/v3/devices/${deviceId}?user_id=${encodeURIComponent(GHOST)}`, {})).status, 201);
  }
  const alice = await registerUser(server.url, 'alice');
  const bob = await registerUser(server.url, 'bob');
  const sendToAll = async (sender: TestUser, txnId: string, content: (deviceId: string) => object, to = deviceIds) => {
    const messages = { [GHOST]: Object.fromEntries(to.map((deviceId) => [deviceId, content(deviceId)])) };
    const sent = await request(server.url, 'PUT', `/_matrix/client/v3/sendToDevice/m.room_key_request/${txnId}`, { token: sender.accessToken, body: { messages } });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
  };

  // The burst piles up while both appservices are down, then drains across several transactions.
  for (const fake of fakes) fake.down = true;
  for (let round = 0; round < ROUNDS; round++) {
    await sendToAll(alice, `a${round}`, () => ({ round }));
    await sendToAll(bob, `b${round}`, () => ({ round }));
  }
  await sendToAll(alice, 'terminal', () => ({ terminal: true }), [deviceIds[0]]);
  await waitFor('a refused attempt at each', async () => (fakes.every((fake) => fake.transactions.length > 0) ? true : undefined), 20_000);
  for (const [index, registration] of [first, second].entries()) {
    fakes[index].down = false;
    const ping = await request(server.url, 'POST', `/_matrix/client/v1/appservice/${registration.id}/ping`, { token: registration.as_token, body: {} });
    assert.equal(ping.status, 200, JSON.stringify(ping.body));
  }

  const expected = DEVICES * ROUNDS * 2 + 1;
  for (const [index, fake] of fakes.entries()) {
    const name = index === 0 ? 'first' : 'second';
    const delivered = () => fake.accepted().flatMap((transaction) => (transaction.body['de.sorunome.msc2409.to_device'] ?? []) as ToDevice[]);
    await waitFor(`every message at ${name}`, async () => (delivered().some((message) => message.content.terminal) ? true : undefined), 60_000);
    const messages = delivered();
    assert.equal(messages.length, expected, `${name}: every message once`);
    assert.ok(fake.accepted().length >= Math.ceil(expected / MAX_EVENTS_PER_TRANSACTION), `${name}: spread over several transactions`);
    for (const transaction of fake.transactions) {
      assert.ok((transaction.body.to_device ?? []).length <= MAX_EVENTS_PER_TRANSACTION);
      assert.deepEqual(transaction.body.to_device ?? [], transaction.body['de.sorunome.msc2409.to_device'] ?? [], 'both names carry the same messages');
    }
    // A refused attempt is resent unchanged under its txnId.
    const firstBody = new Map<string, unknown>();
    for (const transaction of fake.transactions) {
      if (firstBody.has(transaction.txnId)) assert.deepEqual(transaction.body, firstBody.get(transaction.txnId), `${name}: txn ${transaction.txnId} resent unchanged`);
      else firstBody.set(transaction.txnId, transaction.body);
    }
    assert.ok(messages.at(-1)!.content.terminal, `${name}: the terminal message comes last`);
    for (const sender of [alice, bob]) {
      const fromSender = messages.filter((message) => message.sender === sender.userId && !message.content.terminal);
      assert.ok(fromSender.every((message) => message.type === 'm.room_key_request' && message.to_user_id === GHOST));
      const rounds = fromSender.map((message) => message.content.round!);
      assert.deepEqual(rounds, [...rounds].sort((a, b) => a - b), `${name}: ${sender.userId}'s messages in the order sent`);
      for (const deviceId of deviceIds) {
        const toDevice = fromSender.filter((message) => message.to_device_id === deviceId).map((message) => message.content.round);
        assert.deepEqual(toDevice, [0, 1, 2], `${name}: ${sender.userId} to ${deviceId}`);
      }
    }
  }
});
