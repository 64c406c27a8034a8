import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { withAdminClient } from '../support/postgres.ts';
import { createRoom, sendMessage } from '../support/rooms.ts';
import { waitFor } from '../support/wait-for.ts';

let server: TestServer;
let alice: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
});
after(() => server.stop());

test('database connections killed under load (a Postgres restart, a terminated backend) cost requests, never the process', async () => {
  const roomId = await createRoom(server, alice);
  const database = new URL(server.databaseUrl).pathname.slice(1);
  // Sends in flight hold connections while every backend of the server's database is terminated.
  const sends = Array.from({ length: 40 }, (_, i) => sendMessage(server, alice, roomId, { msgtype: 'm.text', body: `during ${i}` }, `kill${i}`));
  await withAdminClient(process.env.PALISADE_TEST_ADMIN_URL!, (client) =>
    client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]),
  );
  for (const result of await Promise.all(sends)) {
    // Each either went through or failed as Matrix JSON: no hang, no dropped connection.
    if (result.status !== 200) assert.equal(result.body.errcode, 'M_UNKNOWN', JSON.stringify(result.body));
  }
  await waitFor('the server to answer again', async () => ((await request(server.url, 'GET', '/health')).status === 200 ? true : undefined));
  const after = await sendMessage(server, alice, roomId, { msgtype: 'm.text', body: 'after' }, 'after-kill');
  assert.equal(after.status, 200, JSON.stringify(after.body));
});
