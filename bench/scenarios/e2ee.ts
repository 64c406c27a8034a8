import { randomBytes } from 'node:crypto';
import { connectDatabase } from '../../server/storage/connection.ts';
import { request, type TestUser } from '../../test/support/http.ts';
import { benchUser, expectOk, round, runConcurrently, type BenchServer } from '../support.ts';

/** Devices per recipient user: a big organisation's users have a handful; 100 keeps the user count small. */
const DEVICES_PER_USER = 100;

/**
 * The recipients' devices (and their one-time keys) are written straight into
 * the database: creating 1,000 devices through /login would measure password
 * hashing, not E2EE. Everything measured goes through the HTTP API.
 */
async function seedDevices(databaseUrl: string, users: TestUser[], devicesPerUser: number, oneTimeKeysPerDevice: number): Promise<void> {
  const handle = connectDatabase(databaseUrl, { poolSize: 1 });
  try {
    const now = Date.now();
    for (const user of users) {
      const devices = Array.from({ length: devicesPerUser }, (_, d) => ({ user_id: user.userId, device_id: `BENCH${d}`, display_name: null, last_seen_ts: null, last_seen_ip: null, created_ts: now }));
      await handle.db.insertInto('devices').values(devices).onConflict((conflict) => conflict.doNothing()).execute();
      const keys = devices.flatMap((device) =>
        Array.from({ length: oneTimeKeysPerDevice }, (_, k) => ({
          user_id: user.userId,
          device_id: device.device_id,
          algorithm: 'signed_curve25519',
          key_id: `K${k}`,
          key_json: JSON.stringify({ key: randomBytes(32).toString('base64').replace(/=+$/, '') }),
          created_ts: now,
        })),
      );
      for (let start = 0; start < keys.length; start += 5000) await handle.db.insertInto('one_time_keys').values(keys.slice(start, start + 5000)).execute();
    }
  } finally {
    await handle.stop();
  }
}

/**
 * To-device throughput: one sender, one `sendToDevice` request at a time, each
 * addressing every one of `devices` devices (a Megolm key share to a large
 * encrypted room); messages written per second.
 */
export async function toDeviceThroughput(server: BenchServer, databaseUrl: string, options: { devices: number; requests: number }) {
  const sender = await benchUser(server, 'todevice-sender');
  const recipients: TestUser[] = [];
  for (let u = 0; u < Math.ceil(options.devices / DEVICES_PER_USER); u++) recipients.push(await benchUser(server, `todevice-r${u}`));
  const perUser = Math.min(DEVICES_PER_USER, options.devices);
  await seedDevices(databaseUrl, recipients, perUser, 0);
  const content = { algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: 'x'.repeat(43), ciphertext: { k: { type: 0, body: 'c'.repeat(1500) } } };
  const messages = Object.fromEntries(recipients.map((user) => [user.userId, { '*': content }]));
  const sends = await runConcurrently(options.requests, 1, (index) =>
    expectOk(request(server.url, 'PUT', `/_matrix/client/v3/sendToDevice/m.room.encrypted/bench${index}`, { token: sender.accessToken, body: { messages } }), 'sendToDevice').then(() => undefined),
  );
  // Each `*` reached the seeded devices plus the user's own login device.
  const delivered = recipients.length * (perUser + 1);

  return {
    devices_per_request: delivered,
    requests: sends.count,
    messages_per_second: round((delivered * sends.count) / sends.seconds),
    request_p50_ms: sends.p50_ms,
    request_p99_ms: sends.p99_ms,
  };
}

/** `/keys/claim` latency: one request claiming a key for each of `devices` devices (starting Olm sessions for a large room). */
export async function keysClaimLatency(server: BenchServer, databaseUrl: string, options: { devices: number; samples: number }) {
  const claimer = await benchUser(server, 'claim-claimer');
  const owners: TestUser[] = [];
  for (let u = 0; u < Math.ceil(options.devices / DEVICES_PER_USER); u++) owners.push(await benchUser(server, `claim-o${u}`));
  const perUser = Math.min(DEVICES_PER_USER, options.devices);
  await seedDevices(databaseUrl, owners, perUser, options.samples);
  const body = {
    one_time_keys: Object.fromEntries(owners.map((user) => [user.userId, Object.fromEntries(Array.from({ length: perUser }, (_, d) => [`BENCH${d}`, 'signed_curve25519']))])),
  };
  let claimed = 0;
  const summary = await runConcurrently(options.samples, 1, async () => {
    const result = await expectOk(request(server.url, 'POST', '/_matrix/client/v3/keys/claim', { token: claimer.accessToken, body }), 'keys/claim');
    for (const devices of Object.values(result.one_time_keys as Record<string, Record<string, unknown>>)) claimed += Object.keys(devices).length;
  });
  if (claimed !== summary.count * owners.length * perUser) throw new Error(`keys/claim handed out ${claimed} keys, expected ${summary.count * owners.length * perUser}`);
  return { devices_per_request: owners.length * perUser, requests: summary.count, p50_ms: summary.p50_ms, p99_ms: summary.p99_ms };
}
