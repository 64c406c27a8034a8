import { mkdtempSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TestUser } from '../../test/support/http.ts';
import { wipePrefix } from '../../test/support/redis-config.ts';
import { benchUser, round, runConcurrently, startBenchServer, summarise, type BenchServer, type LatencySummary } from '../support.ts';
import { createRoom, joinRoom, sendText, sync } from './rooms-api.ts';

/**
 * `count` API processes on one database and one Redis, as behind a load
 * balancer: one data dir (signing key), one Redis key prefix, jobs run in
 * the API processes (no worker). Stop them all (and wipe the prefix) with `stop`.
 */
export async function startProcesses(databaseUrl: string, redisUrl: string, count: number): Promise<{ servers: BenchServer[]; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-mp-'));
  chmodSync(dir, 0o755);
  const prefix = `palisade-bench-${randomBytes(4).toString('hex')}`;
  const config = { data_dir: join(dir, 'data'), redis_key_prefix: prefix, jobs_in_api_process: true };
  // The first alone: it creates the signing key the others then read.
  const servers = [await startBenchServer(databaseUrl, { REDIS_URL: redisUrl }, config)];
  servers.push(...(await Promise.all(Array.from({ length: count - 1 }, () => startBenchServer(databaseUrl, { REDIS_URL: redisUrl }, config)))));
  return {
    servers,
    async stop() {
      await Promise.all(servers.map((server) => server.stop()));
      await wipePrefix(redisUrl, prefix);
    },
  };
}

/**
 * Wake-up across processes: `listeners` users long-poll /sync on the second
 * process; one sender sends `messages` messages through the first, one after
 * another; for every listener and message, the time from the send call's
 * start to the listener's sync returning it (persist, announce over Redis,
 * wake, recompute the sync).
 */
export async function crossProcessWakeup(databaseUrl: string, redisUrl: string, options: { listeners: number; messages: number }) {
  const { servers, stop } = await startProcesses(databaseUrl, redisUrl, 2);
  const [sending, syncing] = servers;
  try {
    const sender = await benchUser(sending, 'wakeup-sender');
    const roomId = await createRoom(sending.url, sender, { preset: 'public_chat' });
    const listeners: TestUser[] = [];
    for (let i = 0; i < options.listeners; i++) {
      const user = await benchUser(syncing, `wakeup-l${i}`);
      await joinRoom(syncing.url, user, roomId);
      listeners.push(user);
    }
    const sentAt = new Map<string, number>();
    let pendingStart = 0;
    const latencies: number[] = [];
    const filter = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 50 } }, presence: { types: [] } }));
    const tokens = await Promise.all(listeners.map((user) => sync(syncing.url, user, `timeout=0&filter=${filter}`).then((body) => body.next_batch as string)));
    let done = false;
    const loops = listeners.map(async (user, i) => {
      let since = tokens[i];
      const seen = new Set<string>();
      while (!done || seen.size < options.messages) {
        const body = await sync(syncing.url, user, `since=${encodeURIComponent(since)}&timeout=10000&filter=${filter}`);
        const received = performance.now();
        since = body.next_batch;
        for (const event of body.rooms?.join?.[roomId]?.timeline?.events ?? []) {
          if (event.sender !== sender.userId || seen.has(event.event_id)) continue;
          seen.add(event.event_id);
          // A listener can see the event before the send call returns; time from the send's start.
          latencies.push(received - (sentAt.get(event.event_id) ?? pendingStart));
        }
        if (seen.size >= options.messages) break;
      }
    });
    const started = performance.now();
    for (let m = 0; m < options.messages; m++) {
      pendingStart = performance.now();
      sentAt.set(await sendText(sending.url, sender, roomId, `wakeup ${m}`), pendingStart);
      // Give every listener time to re-poll so each message measures a wake-up, not a queue.
      await new Promise((resolveGap) => setTimeout(resolveGap, 50));
    }
    done = true;
    await Promise.all(loops);
    const summary = summarise(latencies, (performance.now() - started) / 1000);
    return { deliveries: summary.count, p50_ms: summary.p50_ms, p99_ms: summary.p99_ms, seconds: round(summary.seconds) };
  } finally {
    await stop();
  }
}

/**
 * Send throughput with `processes` API processes on one database: `senders`
 * users over `rooms` rooms, each user sending through process (its index mod
 * `processes`), as a load balancer spreading clients would.
 */
export async function sendWithProcesses(databaseUrl: string, redisUrl: string, options: { processes: number; total: number; senders: number; rooms: number }): Promise<LatencySummary> {
  const { servers, stop } = await startProcesses(databaseUrl, redisUrl, options.processes);
  try {
    const users: TestUser[] = [];
    for (let i = 0; i < options.senders; i++) users.push(await benchUser(servers[i % servers.length], `mp${options.processes}-s${i}`));
    const roomIds: string[] = [];
    for (let r = 0; r < options.rooms; r++) roomIds.push(await createRoom(servers[0].url, users[0], { preset: 'public_chat' }));
    for (const [i, user] of users.entries()) if (i > 0) for (const roomId of roomIds) await joinRoom(servers[i % servers.length].url, user, roomId);
    return await runConcurrently(options.total, options.senders, (index, worker) =>
      sendText(servers[worker % servers.length].url, users[worker], roomIds[index % roomIds.length], `message ${index}`).then(() => undefined),
    );
  } finally {
    await stop();
  }
}
