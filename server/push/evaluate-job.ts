import type { AppContext } from '../app-context.ts';
import { IGNORED_USER_LIST, ignoredUsersFrom } from '../accounts/account-data.ts';
import { globalAccountDataOfUsers } from '../storage/queries/account-data.ts';
import type { Queryable } from '../storage/database.ts';
import { announcePushPosition, eventsToEvaluate, insertNotifications, markPushEvaluated, pushersOfUsers, pushProgress, type PushCandidate } from '../storage/queries/push.ts';
import { currentStateEvents, joinedMembers } from '../storage/queries/room-state.ts';
import { memberDisplayNames } from '../storage/queries/unread.ts';
import { displayNamesOf } from '../storage/queries/users.ts';
import type { PushNotificationRow } from '../storage/tables/push.ts';
import type { PushAction, Ruleset } from './default-rules.ts';
import { evaluatePushRules, highlights, notifies, type PushContext } from './evaluate.ts';
import { PUSH_RULES_TYPE, rulesetFrom } from './push-rules.ts';
import { wakePusher } from './send-job.ts';

export const PUSH_EVALUATE_JOB = 'push.evaluate';
/** Events read per batch; a run continues until it has caught up with what was announced. */
const EVALUATE_BATCH = 200;

/**
 * The writer side, in API processes: when room events become visible, record
 * the position in Postgres (so evaluation survives a lost job) and wake the
 * one evaluation job. Coalesced like appservice announcements.
 */
export function followRoomEventsForPush(app: AppContext): void {
  let latest = 0;
  let running = false;
  app.roomEvents.onVisible((position) => {
    latest = Math.max(latest, position);
    if (running) return;
    running = true;
    void (async () => {
      try {
        for (let announced = 0; announced < latest; ) {
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
 */
async function evaluatePending(app: AppContext): Promise<void> {
  const recipients = new RecipientCache(app.db);
  for (;;) {
    const { announced, evaluated } = await pushProgress(app.db);
    if (evaluated >= announced) return;
    const events = await eventsToEvaluate(app.db, evaluated, announced, EVALUATE_BATCH);
    const notifications: Array<Omit<PushNotificationRow, 'id'>> = [];
    for (const event of events) {
      for (const userId of await recipients.of(event)) {
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
    await insertNotifications(app.db, notifications);
    await markPushEvaluated(app.db, events.length < EVALUATE_BATCH ? announced : events.at(-1)!.stream_ordering);
    for (const pusher of await pushersOfUsers(app.db, [...new Set(notifications.map((row) => row.user_id))])) await wakePusher(app, pusher.id);
  }
}

/** Users whose push inputs are read in one query. */
const USERS_READ_TOGETHER = 1000;

type UserInputs = { ruleset: Ruleset; displayName: string | undefined; ignored: ReadonlySet<string> };

/** Per-run caches of what evaluation reads per user and per room; a room's members are read together (a few queries, not three per member). */
class RecipientCache {
  declare readonly db: Queryable;
  readonly users = new Map<string, Promise<UserInputs>>();
  readonly rooms = new Map<string, Promise<{ members: string[]; levels: PowerLevels; displayNames: Map<string, string | null> }>>();
  constructor(db: Queryable) {
    this.db = db;
  }

  async of(event: PushCandidate): Promise<string[]> {
    const { members } = await this.room(event.room_id);
    const users = new Set(members.filter((userId) => userId !== event.sender));
    if (event.type === 'm.room.member' && event.state_key && event.content.membership === 'invite' && event.state_key !== event.sender) users.add(event.state_key);
    return [...users];
  }

  async actionsFor(userId: string, event: PushCandidate): Promise<PushAction[] | undefined> {
    const [user, room] = await Promise.all([this.user(userId), this.room(event.room_id)]);
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

  private user(userId: string): Promise<UserInputs> {
    this.loadUsers([userId]);
    return this.users.get(userId)!;
  }

  /** Starts reading the inputs of those of `userIds` not read yet, in batches. */
  private loadUsers(userIds: readonly string[]): void {
    const missing = [...new Set(userIds)].filter((userId) => !this.users.has(userId));
    for (let i = 0; i < missing.length; i += USERS_READ_TOGETHER) {
      const batch = missing.slice(i, i + USERS_READ_TOGETHER);
      const read = Promise.all([globalAccountDataOfUsers(this.db, batch, [PUSH_RULES_TYPE, IGNORED_USER_LIST]), displayNamesOf(this.db, batch)]);
      for (const userId of batch) {
        this.users.set(
          userId,
          read.then(([accountData, names]) => ({
            ruleset: rulesetFrom(userId, accountData.get(userId)?.get(PUSH_RULES_TYPE)),
            displayName: names.get(userId),
            ignored: ignoredUsersFrom(accountData.get(userId)?.get(IGNORED_USER_LIST)),
          })),
        );
      }
    }
  }

  private room(roomId: string) {
    let entry = this.rooms.get(roomId);
    if (!entry) {
      entry = Promise.all([joinedMembers(this.db, roomId), currentStateEvents(this.db, roomId, [{ type: 'm.room.power_levels', state_key: '' }]), memberDisplayNames(this.db, roomId)]).then(
        ([members, [powerLevels], displayNames]) => {
          this.loadUsers(members);
          return { members, levels: (powerLevels?.json.content ?? {}) as PowerLevels, displayNames };
        },
      );
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
