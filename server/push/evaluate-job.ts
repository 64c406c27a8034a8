import { setTimeout as delay } from 'node:timers/promises';
import type { AppContext } from '../app-context.ts';
import { IGNORED_USER_LIST, ignoredUsersFrom } from '../accounts/account-data.ts';
import type { Queryable } from '../storage/database.ts';
import {
  announcePushPosition,
  eventsToEvaluate,
  pusherIdsOfUsers,
  pushProgress,
  pushRoomFacts,
  pushUserFacts,
  recordEvaluatedBatch,
  type PushCandidate,
} from '../storage/queries/push.ts';
import { memberDisplayNames } from '../storage/queries/unread.ts';
import type { PushNotificationRow } from '../storage/tables/push.ts';
import type { PushAction, Ruleset } from './default-rules.ts';
import { evaluatePushRules, highlights, notifies, type PushContext } from './evaluate.ts';
import { PUSH_RULES_TYPE, rulesetFrom } from './push-rules.ts';
import { wakePusher } from './send-job.ts';

export const PUSH_EVALUATE_JOB = 'push.evaluate';
/** Events read per batch; a run continues until it has caught up with what was announced. */
const EVALUATE_BATCH = 200;
/**
 * Announcements start at most this often: a steady stream of sends is then
 * one progress-row commit and one evaluation run per interval rather than one
 * per event, while an event after a quiet spell is announced at once. A push
 * gateway's own latency is far above it.
 */
const ANNOUNCE_INTERVAL_MS = 100;

/**
 * The writer side, in API processes: when room events become visible, record
 * the position in Postgres (so evaluation survives a lost job) and wake the
 * one evaluation job. Coalesced: positions that become visible while an
 * announcement waits or runs are announced together by the next one.
 */
export function followRoomEventsForPush(app: AppContext): void {
  let latest = 0;
  let running = false;
  let lastStarted = -Infinity;
  app.roomEvents.onVisible((position) => {
    latest = Math.max(latest, position);
    if (running) return;
    running = true;
    void (async () => {
      try {
        for (let announced = 0; announced < latest; ) {
          const wait = lastStarted + ANNOUNCE_INTERVAL_MS - performance.now();
          if (wait > 0) await delay(wait, undefined, { ref: false });
          lastStarted = performance.now();
          announced = latest;
          await announcePushPosition(app.db, announced);
          await wakeEvaluation(app);
        }
      } catch (error) {
        // Recovery at the next start (or the next event) picks it up; nothing is lost, only delayed.
        app.logger.warn({ err: error }, 'could not announce room events to push evaluation');
      } finally {
        running = false;
      }
    })();
  });
}

async function wakeEvaluation(app: AppContext): Promise<void> {
  await app.jobs.enqueue(PUSH_EVALUATE_JOB, {}, { jobId: PUSH_EVALUATE_JOB });
}

export function definePushEvaluation(app: AppContext): void {
  app.jobs.define<Record<string, never>>({
    name: PUSH_EVALUATE_JOB,
    concurrency: 1,
    handle: () => evaluatePending(app),
    recover: () => wakeEvaluation(app),
  });
}

/**
 * Reads the room-event stream from where evaluation stopped up to the
 * announced position, runs each recipient's push rules (the same evaluator as
 * unread counts) and records a notification where they say `notify`; then
 * wakes the pushers of the users notified. Recipients: the room's joined
 * members other than the sender, and the target of an invite.
 *
 * Per batch of events: each room's members and power levels and each
 * recipient's rules, display name and ignored list are read once (one query
 * per room, one per set of new recipients); the notifications and the new
 * evaluated position are written in one statement, so a crash repeats the
 * batch rather than skipping it, and a repeat adds nothing (one notification
 * per user and event).
 */
async function evaluatePending(app: AppContext): Promise<void> {
  const recipients = new RecipientCache(app.db);
  for (;;) {
    const { announced, evaluated } = await pushProgress(app.db);
    if (evaluated >= announced) return;
    const events = await eventsToEvaluate(app.db, evaluated, announced, EVALUATE_BATCH);
    const notifications: Array<Omit<PushNotificationRow, 'id'>> = [];
    for (const event of events) {
      const users = await recipients.of(event);
      for (const userId of users) {
        const actions = await recipients.actionsFor(userId, event);
        if (!notifies(actions)) continue;
        notifications.push({
          user_id: userId,
          room_id: event.room_id,
          event_id: event.event_id,
          stream_ordering: event.stream_ordering,
          actions: actions!,
          highlight: highlights(actions),
          ts: Date.now(),
          thread_id: threadOf(event.content),
        });
      }
    }
    await recordEvaluatedBatch(app.db, notifications, events.length < EVALUATE_BATCH ? announced : events.at(-1)!.stream_ordering);
    for (const pusherId of await pusherIdsOfUsers(app.db, [...new Set(notifications.map((row) => row.user_id))])) await wakePusher(app, pusherId);
  }
}

interface RecipientFacts {
  ruleset: Ruleset;
  displayName: string | undefined;
  ignored: ReadonlySet<string>;
}

/** Per-run caches of what evaluation reads per user and per room. */
class RecipientCache {
  declare readonly db: Queryable;
  readonly users = new Map<string, RecipientFacts>();
  readonly rooms = new Map<string, Promise<{ members: string[]; levels: PowerLevels; displayNames: Map<string, string | null> }>>();
  constructor(db: Queryable) {
    this.db = db;
  }

  /** The event's recipients, loaded (a room's first event loads all its members: the next events go to them too). */
  async of(event: PushCandidate): Promise<string[]> {
    const { members } = await this.room(event.room_id);
    const users = new Set(members.filter((userId) => userId !== event.sender));
    if (event.type === 'm.room.member' && event.state_key && event.content.membership === 'invite' && event.state_key !== event.sender) users.add(event.state_key);
    await this.load([...members, ...users]);
    return [...users];
  }

  /** Reads, in one query, the users not read yet in this run. */
  private async load(userIds: readonly string[]): Promise<void> {
    const missing = [...new Set(userIds)].filter((userId) => !this.users.has(userId));
    for (const row of await pushUserFacts(this.db, missing, { pushRules: PUSH_RULES_TYPE, ignoredUsers: IGNORED_USER_LIST })) {
      this.users.set(row.user_id, {
        ruleset: rulesetFrom(row.user_id, row.push_rules),
        displayName: row.displayname ?? undefined,
        ignored: ignoredUsersFrom(row.ignored),
      });
    }
  }

  /** For a user `of` returned. */
  async actionsFor(userId: string, event: PushCandidate): Promise<PushAction[] | undefined> {
    const user = this.users.get(userId);
    if (!user) throw new Error(`push evaluation: ${userId} was not loaded`);
    const room = await this.room(event.room_id);
    if (user.ignored.has(event.sender)) return undefined;
    const context: PushContext = {
      userId,
      // Spec: contains_display_name uses the user's display name in this room.
      displayName: room.displayNames.has(userId) ? (room.displayNames.get(userId) ?? undefined) : user.displayName,
      memberCount: room.members.length,
      senderPowerLevel: levelOf(room.levels.users?.[event.sender], levelOf(room.levels.users_default, 0)),
      notificationLevel: (key) => levelOf(room.levels.notifications?.[key], 50),
    };
    const pushEvent = { type: event.type, sender: event.sender, room_id: event.room_id, ...(event.state_key === null ? {} : { state_key: event.state_key }), content: event.content };
    return evaluatePushRules(user.ruleset, pushEvent, context);
  }

  private room(roomId: string) {
    let entry = this.rooms.get(roomId);
    if (!entry) {
      entry = Promise.all([pushRoomFacts(this.db, roomId), memberDisplayNames(this.db, roomId)]).then(([{ members, powerLevels }, displayNames]) => ({
        members,
        levels: (powerLevels ?? {}) as PowerLevels,
        displayNames,
      }));
      this.rooms.set(roomId, entry);
    }
    return entry;
  }
}

type PowerLevels = { users?: Record<string, unknown>; users_default?: unknown; notifications?: Record<string, unknown> };

function levelOf(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

/** The thread a notification belongs to, for threaded receipts: an `m.thread` reply's root, else 'main'. */
function threadOf(content: Record<string, unknown>): string {
  const relation = content['m.relates_to'] as { rel_type?: unknown; event_id?: unknown } | undefined;
  return relation?.rel_type === 'm.thread' && typeof relation.event_id === 'string' ? relation.event_id : 'main';
}
