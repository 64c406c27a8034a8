import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, type TestUser } from '../../test/support/http.ts';
import { waitFor } from '../../test/support/wait-for.ts';
import { benchUser, expectOk, round, runConcurrently, startBenchServer, summarise } from '../support.ts';
import { createRoom, sendText } from './rooms-api.ts';

/** A sink appservice: counts events and when each arrived; answers 503 while `down`. */
async function startSink(hsToken: string) {
  const arrived = new Map<string, number>();
  const sink = { arrived, transactions: 0, down: false, url: '', close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.headers.authorization !== `Bearer ${hsToken}`) return void res.writeHead(401).end('{}');
      if (req.method === 'PUT' && req.url?.startsWith('/_matrix/app/v1/transactions/')) {
        if (sink.down) return void res.writeHead(503).end('{}');
        const now = performance.now();
        sink.transactions += 1;
        for (const event of JSON.parse(Buffer.concat(chunks).toString('utf8')).events) if (!arrived.has(event.event_id)) arrived.set(event.event_id, now);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sink.close = () => new Promise<void>((resolveClose) => { server.closeAllConnections(); server.close(() => resolveClose()); });
  return sink;
}

/**
 * Appservice delivery on its own server (one appservice whose bot is in the
 * room): throughput and lag (send call start to arrival at the appservice)
 * while `senders` users send `total` messages, then the time to drain a
 * `backlog` of messages sent while the appservice answered 503 (delivery
 * resumes at the ping that announces it is back).
 */
export async function appserviceDelivery(databaseUrl: string, options: { total: number; senders: number; backlog: number }) {
  const hsToken = `hs-${randomBytes(8).toString('hex')}`;
  const asToken = `as-${randomBytes(8).toString('hex')}`;
  const sink = await startSink(hsToken);
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-as-'));
  const registrationPath = join(dir, 'bench-appservice.yaml');
  writeFileSync(registrationPath, JSON.stringify({ id: 'bench', url: sink.url, as_token: asToken, hs_token: hsToken, sender_localpart: 'benchbot', namespaces: { users: [{ regex: '@benchbot_.*', exclusive: true }] }, rate_limited: false }));
  const server = await startBenchServer(databaseUrl, {}, { app_service_config_files: [registrationPath] });
  try {
    const owner = await benchUser(server, 'as-owner');
    const roomId = await createRoom(server.url, owner, { preset: 'public_chat' });
    await expectOk(request(server.url, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: asToken, body: {} }), 'appservice join');
    const senders: TestUser[] = [owner];
    for (let i = 1; i < options.senders; i++) {
      const user = await benchUser(server, `as-sender${i}`);
      await expectOk(request(server.url, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: user.accessToken, body: {} }), 'join');
      senders.push(user);
    }

    const sentAt = new Map<string, number>();
    const started = performance.now();
    await runConcurrently(options.total, options.senders, async (index, worker) => {
      const before = performance.now();
      sentAt.set(await sendText(server.url, senders[worker], roomId, `as ${index}`), before);
    });
    await waitFor('every event at the appservice', async () => ([...sentAt.keys()].every((id) => sink.arrived.has(id)) ? true : undefined), 120_000, 20);
    const lags = [...sentAt].map(([id, at]) => sink.arrived.get(id)! - at);
    const live = summarise(lags, (Math.max(...sink.arrived.values()) - started) / 1000);

    sink.down = true;
    const backlog: string[] = [];
    for (let i = 0; i < options.backlog; i++) backlog.push(await sendText(server.url, owner, roomId, `backlog ${i}`));
    const drainStart = performance.now();
    sink.down = false;
    await expectOk(request(server.url, 'POST', '/_matrix/client/v1/appservice/bench/ping', { token: asToken, body: {} }), 'ping');
    await waitFor('the backlog to drain', async () => (backlog.every((id) => sink.arrived.has(id)) ? true : undefined), 300_000, 20);
    const drainSeconds = (performance.now() - drainStart) / 1000;
    return {
      live: { events: live.count, events_per_second: live.per_second, lag_p50_ms: live.p50_ms, lag_p99_ms: live.p99_ms, transactions: sink.transactions },
      backlog: { events: options.backlog, drain_seconds: round(drainSeconds), events_per_second: round(options.backlog / drainSeconds) },
    };
  } finally {
    await server.stop();
    await sink.close();
  }
}
