import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startTestServer } from '../support/server.ts';
import { registerUser, request } from '../support/http.ts';
import { createRoom, say } from '../support/rooms.ts';
import { redisUrlOrSkip } from '../support/redis.ts';
import { redisConfig } from '../support/redis-config.ts';
import { makeRegistration, startFakeAppservice, writeRegistrationFiles, type FakeAppservice } from '../support/appservice.ts';
import { waitFor } from '../support/wait-for.ts';
import { deferStack } from '../support/cleanup.ts';

const EVENTS = 1000;

/** `npm run worker` as a real child process, so it can be killed with SIGKILL. */
function spawnWorker(defer: (cleanup: () => unknown) => void, configPath: string, databaseUrl: string): ChildProcess {
  const child = spawn(process.execPath, ['server/worker.ts', '--config', configPath], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal === null) process.stderr.write(`worker exited with ${code}: ${stderr}\n`);
  });
  defer(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
      child.kill('SIGTERM');
      await exited;
    }
  });
  return child;
}

/** Each txnId once (a resend after a crash repeats a txnId with the same events, as the spec allows). */
function uniqueAccepted(fake: FakeAppservice) {
  const byTxn = new Map<string, any>();
  for (const transaction of fake.transactions) {
    const first = byTxn.get(transaction.txnId);
    if (first) assert.deepEqual(transaction.body, first, `txn ${transaction.txnId} was resent with other contents`);
    else byTxn.set(transaction.txnId, transaction.body);
  }
  const accepted = new Set(fake.accepted().map((transaction) => transaction.txnId));
  return [...byTxn.entries()].filter(([txnId]) => accepted.has(txnId)).sort(([a], [b]) => Number(a) - Number(b));
}

test(`an appservice down while ${EVENTS} events are sent gets all of them in order, though its worker is SIGKILLed midway`, { timeout: 300_000 }, async (t) => {
  const redisUrl = redisUrlOrSkip(t);
  if (!redisUrl) return;
  const redis = redisConfig(redisUrl);
  const registration = makeRegistration('backlog', { rate_limited: false });
  const fake = await startFakeAppservice(registration.hs_token);
  registration.url = fake.url;
  const files = writeRegistrationFiles([registration]);
  const defer = deferStack(t);
  defer(() => fake.close());
  const server = await startTestServer({ app_service_config_files: files, ...redis });
  defer(() => server.stop());
  const configPath = join(server.dataDir, 'worker.yaml');
  writeFileSync(configPath, stringify({ server_name: 'localhost', data_dir: server.dataDir, app_service_config_files: files, log_level: 'warn', ...redis }));
  const first = spawnWorker(defer, configPath, server.databaseUrl);

  const alice = await registerUser(server.url, 'alice');
  const roomId = await createRoom(server, alice, { preset: 'public_chat' });
  const joined = await request(server.url, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`, { token: registration.as_token, body: {} });
  assert.equal(joined.status, 200);
  await waitFor('the worker to deliver the join', async () => (fake.accepted().length >= 1 ? true : undefined), 30_000);

  fake.down = true;
  const sent: string[] = [];
  for (let n = 0; n < EVENTS; n++) {
    sent.push(`m${n}`);
    await say(server, alice, roomId, `m${n}`);
  }
  await waitFor('a refused attempt', async () => (fake.transactions.some((transaction) => transaction.answered === 503) ? true : undefined), 30_000);

  // Back up, but slow: the worker is killed while transactions are in flight.
  fake.delayMs = 150;
  fake.down = false;
  // Back, it pings (as bridges do at start-up): delivery stops waiting out its backoff.
  const ping = await request(server.url, 'POST', '/_matrix/client/v1/appservice/backlog/ping', { token: registration.as_token, body: {} });
  assert.equal(ping.status, 200, JSON.stringify(ping.body));
  await waitFor('some of the backlog', async () => (fake.accepted().length >= 3 ? true : undefined), 60_000);
  first.kill('SIGKILL');
  spawnWorker(defer, configPath, server.databaseUrl);
  fake.delayMs = 0;

  const messages = () => uniqueAccepted(fake).flatMap(([, body]) => body.events as any[]).filter((event) => event.type === 'm.room.message').map((event) => event.content.body);
  await waitFor('every message', async () => (messages().length >= EVENTS ? true : undefined), 90_000, 250);
  assert.deepEqual(messages(), sent, 'each once (per txnId), all in order');
  const txnIds = uniqueAccepted(fake).map(([txnId]) => Number(txnId));
  assert.deepEqual(txnIds, Array.from({ length: txnIds.length }, (_, index) => txnIds[0] + index), 'no txnId skipped');
});
