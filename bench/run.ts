/**
 * `npm run bench`: the homeserver in its own process on the machine's
 * disk-backed Postgres (fsync on), load from this process. Prints a table and
 * writes bench/results/latest.json. `npm run bench -- --quick` runs a smaller
 * version of every scenario (a smoke test of the benchmark itself).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { migrateToLatest } from '../server/storage/migrate.ts';
import { connectDatabase } from '../server/storage/connection.ts';
import { databaseUrl, findLocalPostgres, withAdminClient } from '../test/support/postgres.ts';
import { round, startBenchServer, type LatencySummary } from './support.ts';
import { insertBaseline } from './scenarios/insert-baseline.ts';
import { sendThroughput } from './scenarios/send.ts';
import { deliveryLatency } from './scenarios/delivery.ts';
import { initialSync, messagesLatency } from './scenarios/history.ts';
import { keysClaimLatency, toDeviceThroughput } from './scenarios/e2ee.ts';
import { appserviceDelivery } from './scenarios/appservice.ts';
import { searchLatency } from './scenarios/search.ts';
import { slidingSyncLatency } from './scenarios/sliding-sync.ts';
import { crossProcessWakeup, sendWithProcesses } from './scenarios/multi-process.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } } });
const scale = values.quick ? 0.05 : 1;
const n = (full: number, minimum = 1) => Math.max(minimum, Math.round(full * scale));

async function freshDatabase(adminUrl: string, name: string): Promise<string> {
  await withAdminClient(adminUrl, async (client: pg.Client) => {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${name}`);
  });
  const url = databaseUrl(adminUrl, name);
  const handle = connectDatabase(url, { poolSize: 1 });
  await migrateToLatest(handle.db);
  await handle.stop();
  return url;
}

function ratio(send: LatencySummary, baseline: LatencySummary): number {
  return round(send.per_second / baseline.per_second);
}

async function main(): Promise<void> {
  const adminUrl = await findLocalPostgres();
  if (!adminUrl) throw new Error('the benchmark needs the machine Postgres at 127.0.0.1:5432 (disk-backed, fsync on)');
  // Per run: two benchmark runs on one machine must not drop each other's database.
  const name = `palisade_bench_${process.pid}`;
  const url = await freshDatabase(adminUrl, name);
  const results: Record<string, unknown> = { date: new Date().toISOString(), quick: values.quick, scale };
  const want = (name: string) => !values.only || values.only.split(',').includes(name);

  const server = await startBenchServer(url);
  try {
    if (want('send')) {
      const base1 = await insertBaseline(url, n(500, 50), 1);
      const base10 = await insertBaseline(url, n(500, 50), 10);
      const base32 = await insertBaseline(url, n(1000, 50), 32);
      const one = await sendThroughput(server, { label: 'one', total: n(500, 50), senders: 1, rooms: 1 });
      const ten = await sendThroughput(server, { label: 'ten', total: n(500, 50), senders: 10, rooms: 1 });
      const many = await sendThroughput(server, { label: 'many', total: n(1000, 64), senders: 32, rooms: n(50, 5) });
      results.send = {
        one_sender: { ...one, insert_baseline_per_second: base1.per_second, ratio_to_insert: ratio(one, base1) },
        ten_senders_one_room: { ...ten, insert_baseline_per_second: base10.per_second, ratio_to_insert: ratio(ten, base10) },
        thirty_two_senders_fifty_rooms: { ...many, insert_baseline_per_second: base32.per_second, ratio_to_insert: ratio(many, base32) },
      };
    }
    if (want('delivery')) results.delivery = await deliveryLatency(server, { listeners: n(100, 10), messages: n(50, 5) });
    if (want('initial-sync')) results.initial_sync = await initialSync(server, { rooms: n(500, 20), eventsPerRoom: n(100, 10), samples: 3 });
    if (want('messages')) results.messages = await messagesLatency(server, { events: n(100_000, 2000), samples: 20 });
    if (want('to-device')) results.to_device = { send_to_1000_devices: await toDeviceThroughput(server, url, { devices: n(1000, 20), requests: n(20, 3) }) };
    if (want('keys-claim')) results.keys_claim = { claim_1000_devices: await keysClaimLatency(server, url, { devices: n(1000, 20), samples: n(20, 3) }) };
    if (want('sliding-sync')) results.sliding_sync = { list_0_19_of_1000_rooms: await slidingSyncLatency(server, { rooms: n(1000, 50), samples: n(10, 3) }) };
    if (want('search')) results.search = { search_1m_events: await searchLatency(server, url, { events: n(1_000_000, 20_000), samples: n(20, 5) }) };
  } finally {
    await server.stop();
    await withAdminClient(adminUrl, (client: pg.Client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
  // On a server of its own (with an appservice registered), on a fresh database.
  if (want('appservice')) {
    const appserviceDatabase = `${name}_as`;
    try {
      results.appservice = await appserviceDelivery(await freshDatabase(adminUrl, appserviceDatabase), { total: n(2000, 100), senders: 4, backlog: n(10_000, 500) });
    } finally {
      await withAdminClient(adminUrl, (client: pg.Client) => client.query(`DROP DATABASE IF EXISTS ${appserviceDatabase} WITH (FORCE)`));
    }
  }

  // Several API processes on one database and Redis; a fresh database for each run.
  const onFreshDatabase = async <T>(suffix: string, run: (databaseUrl: string) => Promise<T>): Promise<T> => {
    const database = `${name}_${suffix}`;
    try {
      return await run(await freshDatabase(adminUrl, database));
    } finally {
      await withAdminClient(adminUrl, (client: pg.Client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
    }
  };
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  if (want('wakeup')) {
    results.wakeup = { across_processes: await onFreshDatabase('wakeup', (databaseUrl) => crossProcessWakeup(databaseUrl, redisUrl, { listeners: n(20, 5), messages: n(50, 5) })) };
  }
  if (want('send-processes')) {
    const sendProcesses: Record<string, unknown> = {};
    for (const processes of [1, 2, 4]) {
      sendProcesses[`${processes}_processes`] = await onFreshDatabase(`mp${processes}`, (databaseUrl) =>
        sendWithProcesses(databaseUrl, redisUrl, { processes, total: n(1000, 64), senders: 32, rooms: n(50, 5) }),
      );
    }
    results.send_processes = sendProcesses;
  }

  for (const [section, value] of Object.entries(results)) {
    if (typeof value !== 'object' || value === null) continue;
    console.log(`\n${section}`);
    const rows = Object.values(value).every((entry) => typeof entry === 'object') ? value : { [section]: value };
    console.table(rows);
  }
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/latest.json', `${JSON.stringify(results, null, 2)}\n`);
  console.log('written to bench/results/latest.json');
}

await main();
