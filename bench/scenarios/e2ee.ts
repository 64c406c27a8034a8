import { hashToken } from '../../server/accounts/tokens.ts';
import { connectDatabase } from '../../server/storage/connection.ts';
import { request, type TestUser } from '../../test/support/http.ts';
import { testDevice } from '../../test/support/e2ee-keys.ts';
import { benchUser, expectOk, runConcurrently, summarise, type BenchServer } from '../support.ts';

/**
 * Devices are seeded straight into the tables (a login per device would spend
 * the setup on argon2); their keys are then uploaded through the API, so what
 * is measured runs against data the server itself wrote.
 */
async function seedDevices(server: BenchServer, databaseUrl: string, user: TestUser, count: number): Promise<TestUser[]> {
  const handle = connectDatabase(databaseUrl, { poolSize: 2 });
  const devices: TestUser[] = [];
  try {
    const now = Date.now();
    for (let i = 0; i < count; i++) devices.push({ ...user, deviceId: `BENCH${String(i).padStart(5, '0')}`, accessToken: `bench_${user.userId}_${i}` });
    for (let start = 0; start < devices.length; start += 500) {
      const slice = devices.slice(start, start + 500);
      await handle.db.insertInto('devices').values(slice.map((device) => ({ user_id: device.userId, device_id: device.deviceId, display_name: null, last_seen_ts: null, last_seen_ip: null, created_ts: now }))).execute();
      await handle.db.insertInto('access_tokens').values(slice.map((device) => ({ token_hash: hashToken(device.accessToken), user_id: device.userId, device_id: device.deviceId, created_ts: now }))).execute();
    }
  } finally {
    await handle.stop();
  }
  return devices;
}

/** To-device messages per second into the inboxes of one user's `devices` devices, sent with `*`. */
export async function toDeviceFanOut(server: BenchServer, databaseUrl: string, options: { devices: number; sends: number }) {
  const sender = await benchUser(server, 'td-sender');
  const recipient = await benchUser(server, 'td-recipient');
  await seedDevices(server, databaseUrl, recipient, options.devices - 1);
  const summary = await runConcurrently(options.sends, 1, async (index) => {
    const body = { messages: { [recipient.userId]: { '*': { algorithm: 'm.olm.v1.curve25519-aes-sha2', ciphertext: { [`key${index}`]: { type: 0, body: 'x'.repeat(200) } } } } } };
    await expectOk(request(server.url, 'PUT', `/_matrix/client/v3/sendToDevice/m.room.encrypted/fan${index}`, { token: sender.accessToken, body }), 'sendToDevice');
  });
  return { devices: options.devices, sends: options.sends, messages_per_second: Math.round((summary.count * options.devices) / summary.seconds), send_p50_ms: summary.p50_ms, send_p99_ms: summary.p99_ms };
}

/** /keys/claim latency for one device's key, and for 100 devices at once, with `devices` devices holding keys. */
export async function keysClaimLatency(server: BenchServer, databaseUrl: string, options: { devices: number; claims: number }) {
  const owner = await benchUser(server, 'claim-owner');
  const devices = await seedDevices(server, databaseUrl, owner, options.devices);
  await runConcurrently(devices.length, 8, async (index) => {
    const device = devices[index];
    const keys = testDevice(device.userId, device.deviceId);
    const body = { device_keys: keys.deviceKeys, one_time_keys: keys.oneTimeKeys(5), fallback_keys: keys.fallbackKey() };
    await expectOk(request(server.url, 'POST', '/_matrix/client/v3/keys/upload', { token: device.accessToken, body }), 'keys/upload');
  });
  const claimer = await benchUser(server, 'claimer');
  const claim = (deviceIds: string[]) =>
    expectOk(request(server.url, 'POST', '/_matrix/client/v3/keys/claim', { token: claimer.accessToken, body: { one_time_keys: { [owner.userId]: Object.fromEntries(deviceIds.map((id) => [id, 'signed_curve25519'])) } } }), 'keys/claim');
  const one = await runConcurrently(options.claims, 4, (index) => claim([devices[(index * 7919) % devices.length].deviceId]).then(() => undefined));
  const batchTimes: number[] = [];
  for (let i = 0; i < 20; i++) {
    const ids = Array.from({ length: 100 }, (_, j) => devices[(i * 100 + j) % devices.length].deviceId);
    const begin = performance.now();
    await claim(ids);
    batchTimes.push(performance.now() - begin);
  }
  const hundred = summarise(batchTimes, 1);
  return { devices: options.devices, one_device_p50_ms: one.p50_ms, one_device_p99_ms: one.p99_ms, hundred_devices_p50_ms: hundred.p50_ms, hundred_devices_p99_ms: hundred.p99_ms };
}
