import type { TestUser } from '../../test/support/http.ts';
import { benchUser, round, summarise, type BenchServer } from '../support.ts';
import { createRoom, joinRoom, sendText, sync } from './rooms-api.ts';

/**
 * Send-to-sync latency: `listeners` users long-poll /sync in one room; one
 * sender sends `messages` messages one after another; for every listener and
 * message, the time from the send call to the listener's sync returning it.
 */
export async function deliveryLatency(server: BenchServer, options: { listeners: number; messages: number }) {
  const sender = await benchUser(server, 'delivery-sender');
  const roomId = await createRoom(server.url, sender, { preset: 'public_chat' });
  const listeners: TestUser[] = [];
  for (let i = 0; i < options.listeners; i++) {
    const user = await benchUser(server, `delivery-l${i}`);
    await joinRoom(server.url, user, roomId);
    listeners.push(user);
  }
  const sentAt = new Map<string, number>();
  let pendingStart = 0;
  const latencies: number[] = [];
  let done = false;
  const tokens = await Promise.all(listeners.map((user) => sync(server.url, user, 'timeout=0').then((body) => body.next_batch as string)));
  const filter = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 50 } }, presence: { types: [] } }));

  const loops = listeners.map(async (user, i) => {
    let since = tokens[i];
    const seen = new Set<string>();
    while (!done || seen.size < options.messages) {
      const body = await sync(server.url, user, `since=${encodeURIComponent(since)}&timeout=5000&filter=${filter}`);
      const received = performance.now();
      since = body.next_batch;
      for (const event of body.rooms?.join?.[roomId]?.timeline?.events ?? []) {
        const started = sentAt.get(event.event_id);
        if (event.sender === sender.userId && !seen.has(event.event_id)) {
          seen.add(event.event_id);
          // A listener can see the event before the send call returns; time from the send's start.
          latencies.push(received - (started ?? pendingStart));
        }
      }
      if (seen.size >= options.messages) break;
    }
  });

  const started = performance.now();
  for (let m = 0; m < options.messages; m++) {
    pendingStart = performance.now();
    const eventId = await sendText(server.url, sender, roomId, `delivery ${m}`);
    sentAt.set(eventId, pendingStart);
    // Give every listener time to re-poll so each message measures a wake-up, not a queue.
    await new Promise((resolveGap) => setTimeout(resolveGap, 50));
  }
  done = true;
  await Promise.all(loops);
  const summary = summarise(latencies, (performance.now() - started) / 1000);
  return { deliveries: summary.count, p50_ms: summary.p50_ms, p99_ms: summary.p99_ms, seconds: round(summary.seconds) };
}
