import type { AppContext } from '../app-context.ts';
import { findEvents } from '../storage/queries/events.ts';
import { advancePusher, deletePusher, findPusher, pushersWithPending, unreadNotificationCount, unsentNotifications } from '../storage/queries/push.ts';
import type { PusherRow, PushNotificationRow } from '../storage/tables/push.ts';
import type { EventRow } from '../storage/tables/rooms.ts';
import { postNotification } from './gateway-client.ts';
import { checkGatewayUrl } from './pushers.ts';

export const PUSH_SEND_JOB = 'push.send';
/** Notifications sent per run before the job queues its own follow-up. */
const MAX_PER_RUN = 20;
/** A gateway that is down: retried from 1 s doubling up to 5 min, about a day in all; then that notification is dropped. */
const SEND_ATTEMPTS = 300;
const SEND_BACKOFF_MS = 1_000;
const SEND_MAX_BACKOFF_MS = 5 * 60_000;

interface SendJob {
  pusherId: number;
}

/** One job id per pusher: notifications go out in order, one request at a time. */
export async function wakePusher(app: AppContext, pusherId: number): Promise<void> {
  await app.jobs.enqueue<SendJob>(PUSH_SEND_JOB, { pusherId }, { jobId: `${PUSH_SEND_JOB}:${pusherId}` });
}

export function definePushSending(app: AppContext): void {
  app.jobs.define<SendJob>({
    name: PUSH_SEND_JOB,
    concurrency: 8,
    attempts: SEND_ATTEMPTS,
    backoffMs: SEND_BACKOFF_MS,
    maxBackoffMs: SEND_MAX_BACKOFF_MS,
    handle: (data, attempt) => sendPending(app, data.pusherId, attempt >= SEND_ATTEMPTS),
    recover: async () => {
      for (const pusherId of await pushersWithPending(app.db)) await wakePusher(app, pusherId);
    },
  });
}

/**
 * Sends the pusher's unsent notifications, oldest first. A failed request
 * throws so the job retries with backoff; on the last attempt the
 * notification is given up and the next one tried. A gateway that rejects
 * the pushkey removes the pusher (spec: Push Gateway API `rejected`).
 */
async function sendPending(app: AppContext, pusherId: number, lastAttempt: boolean): Promise<void> {
  const pusher = await findPusher(app.db, pusherId);
  if (!pusher) return;
  let url: URL;
  try {
    url = checkGatewayUrl(app, pusher.data.url);
  } catch {
    // The configuration changed since it was set (an http host no longer allowed): retrying cannot help.
    app.logger.warn({ pusherId: pusher.id }, 'pusher URL no longer allowed; not sending');
    return;
  }
  const pending = await unsentNotifications(app.db, pusher.user_id, pusher.last_notification_id, MAX_PER_RUN);
  const events = new Map((await findEvents(app.db, pending.map((row) => row.event_id))).map((row) => [row.event_id, row]));
  for (const notification of pending) {
    const event = events.get(notification.event_id);
    // Sent before the pusher was set (evaluated after it): not this pusher's to send.
    const beforePusher = notification.stream_ordering <= pusher.from_stream_ordering;
    if (event && event.redacted_because === null && !beforePusher) {
      const answer = await postNotification(app, url, await notifyBody(app, pusher, notification, event));
      if (!answer.ok && !lastAttempt) throw new Error(`push gateway of pusher ${pusher.id}: ${answer.reason}`);
      if (!answer.ok) app.logger.warn({ pusherId: pusher.id, reason: answer.reason }, 'push notification given up');
      if (answer.ok && answer.rejected.includes(pusher.pushkey)) {
        app.logger.info({ pusherId: pusher.id, appId: pusher.app_id }, 'push gateway rejected the pushkey; pusher removed');
        await deletePusher(app.db, pusher.user_id, pusher.app_id, pusher.pushkey);
        return;
      }
    }
    await advancePusher(app.db, pusher.id, notification.id);
  }
  if (pending.length === MAX_PER_RUN) await wakePusher(app, pusher.id);
}

/**
 * Spec: Push Gateway API POST /_matrix/push/v1/notify. `format:
 * event_id_only` (recommended for encrypted rooms) sends IDs and counts only;
 * `push.include_content: false` leaves content out for every pusher. The
 * pusher's `data` is forwarded without its `url`.
 */
async function notifyBody(app: AppContext, pusher: PusherRow, notification: PushNotificationRow, event: EventRow) {
  const { url: _url, ...data } = pusher.data;
  const tweaks: Record<string, unknown> = {};
  for (const action of notification.actions) {
    if (typeof action === 'object' && action !== null && typeof (action as { set_tweak?: unknown }).set_tweak === 'string') {
      const tweak = action as { set_tweak: string; value?: unknown };
      tweaks[tweak.set_tweak] = tweak.value ?? (tweak.set_tweak === 'highlight' ? true : undefined);
    }
  }
  const eventIdOnly = pusher.data.format === 'event_id_only';
  const details = eventIdOnly
    ? {}
    : {
        type: event.type,
        sender: event.sender,
        ...(app.config.push.include_content ? { content: event.json.content } : {}),
        ...(event.type === 'm.room.member' && event.state_key ? { user_is_target: event.state_key === pusher.user_id } : {}),
      };
  return {
    notification: {
      event_id: event.event_id,
      room_id: event.room_id,
      ...details,
      prio: notification.highlight || (event.type === 'm.room.member' && event.json.content.membership === 'invite') ? 'high' : 'low',
      counts: { unread: await unreadNotificationCount(app.db, pusher.user_id) },
      devices: [{ app_id: pusher.app_id, pushkey: pusher.pushkey, pushkey_ts: Math.floor(pusher.pushkey_ts / 1000), data, tweaks }],
    },
  };
}
