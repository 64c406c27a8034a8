import { sql } from 'kysely';
import type { Queryable, Tx } from '../database.ts';
import type { PusherRow, PushNotificationRow } from '../tables/push.ts';

export type NewPusher = Omit<PusherRow, 'id' | 'last_notification_id' | 'from_stream_ordering'>;

export async function pushersOfUser(db: Queryable, userId: string): Promise<PusherRow[]> {
  return db.selectFrom('pushers').selectAll().where('user_id', '=', userId).orderBy('id').execute();
}

/** The pushers of several users, by id. */
export async function pushersOfUsers(db: Queryable, userIds: readonly string[]): Promise<PusherRow[]> {
  if (userIds.length === 0) return [];
  return db.selectFrom('pushers').selectAll().where('user_id', 'in', [...userIds]).orderBy('id').execute();
}

export async function findPusher(db: Queryable, id: number): Promise<PusherRow | undefined> {
  return db.selectFrom('pushers').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function countPushersOfUser(db: Queryable, userId: string): Promise<number> {
  const row = await db.selectFrom('pushers').select((eb) => eb.fn.countAll<string>().as('count')).where('user_id', '=', userId).executeTakeFirstOrThrow();
  return Number(row.count);
}

/**
 * Creates or replaces the user's pusher for (app_id, pushkey). A new pusher
 * starts after the user's newest notification and after the room-event
 * stream's head, so it never replays history, also not an older event whose
 * evaluation is still to come. A replaced pusher keeps its positions.
 */
export async function upsertPusher(tx: Tx, pusher: NewPusher): Promise<void> {
  await tx
    .insertInto('pushers')
    .values({
      ...pusher,
      data: JSON.stringify(pusher.data) as unknown as Record<string, unknown>,
      last_notification_id: sql<number>`(SELECT coalesce(max(id), 0) FROM push_notifications WHERE user_id = ${pusher.user_id})`,
      from_stream_ordering: sql<number>`(SELECT coalesce(max(stream_ordering), 0) FROM events)`,
    })
    .onConflict((oc) =>
      oc.columns(['app_id', 'pushkey', 'user_id']).doUpdateSet((eb) => ({
        access_token_hash: eb.ref('excluded.access_token_hash'),
        device_id: eb.ref('excluded.device_id'),
        kind: eb.ref('excluded.kind'),
        pushkey_ts: eb.ref('excluded.pushkey_ts'),
        app_display_name: eb.ref('excluded.app_display_name'),
        device_display_name: eb.ref('excluded.device_display_name'),
        profile_tag: eb.ref('excluded.profile_tag'),
        lang: eb.ref('excluded.lang'),
        data: eb.ref('excluded.data'),
      })),
    )
    .execute();
}

/** Spec: without `append`, other users' pushers with the same app_id and pushkey are removed. */
export async function deleteOtherUsersPushers(tx: Tx, appId: string, pushkey: string, userId: string): Promise<void> {
  await tx.deleteFrom('pushers').where('app_id', '=', appId).where('pushkey', '=', pushkey).where('user_id', '!=', userId).execute();
}

export async function deletePusher(db: Queryable, userId: string, appId: string, pushkey: string): Promise<number> {
  const result = await db.deleteFrom('pushers').where('user_id', '=', userId).where('app_id', '=', appId).where('pushkey', '=', pushkey).executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function advancePusher(db: Queryable, id: number, lastNotificationId: number): Promise<void> {
  await db.updateTable('pushers').set({ last_notification_id: lastNotificationId }).where('id', '=', id).where('last_notification_id', '<', lastNotificationId).execute();
}

/** Pushers with notifications they have not yet sent (for recovery at start-up). */
export async function pushersWithPending(db: Queryable): Promise<number[]> {
  const rows = await db
    .selectFrom('pushers as p')
    .select('p.id')
    .where((eb) => eb.exists(eb.selectFrom('push_notifications as n').select('n.id').whereRef('n.user_id', '=', 'p.user_id').whereRef('n.id', '>', 'p.last_notification_id')))
    .execute();
  return rows.map((row) => Number(row.id));
}

/**
 * Records a batch's notifications and moves evaluation past it in one
 * statement (one commit): a crash leaves both or neither. Evaluating the batch
 * again after a crash is harmless: a (user, event) notification exists once.
 */
export async function recordEvaluatedBatch(db: Queryable, rows: Array<Omit<PushNotificationRow, 'id'>>, evaluatedUpTo: number): Promise<void> {
  const advance = sql`UPDATE push_progress SET evaluated = greatest(evaluated, ${evaluatedUpTo})`;
  if (rows.length === 0) {
    await advance.execute(db);
    return;
  }
  const insert = db
    .insertInto('push_notifications')
    .values(rows.map((row) => ({ ...row, actions: JSON.stringify(row.actions) as unknown as unknown[] })))
    .onConflict((oc) => oc.columns(['user_id', 'event_id']).doNothing());
  await sql`WITH inserted AS (${insert}) ${advance}`.execute(db);
}

/** The ids of the pushers of any of these users. */
export async function pusherIdsOfUsers(db: Queryable, userIds: readonly string[]): Promise<number[]> {
  if (userIds.length === 0) return [];
  const rows = await db.selectFrom('pushers').select('id').where('user_id', 'in', [...userIds]).orderBy('id').execute();
  return rows.map((row) => Number(row.id));
}

/** What evaluation reads of a room: its joined members and its power levels' content. */
export async function pushRoomFacts(db: Queryable, roomId: string): Promise<{ members: string[]; powerLevels: Record<string, unknown> | null }> {
  const { rows } = await sql<{ members: string[]; power_levels: Record<string, unknown> | null }>`
    SELECT (SELECT coalesce(array_agg(user_id), '{}') FROM room_memberships WHERE room_id = ${roomId} AND membership = 'join') AS members,
      (SELECT e.json->'content' FROM current_state cs JOIN events e ON e.event_id = cs.event_id
       WHERE cs.room_id = ${roomId} AND cs.type = 'm.room.power_levels' AND cs.state_key = '') AS power_levels`.execute(db);
  return { members: rows[0].members, powerLevels: rows[0].power_levels };
}

/** What evaluation reads of users: display name, stored push rules and ignored-users list (global account data). */
export async function pushUserFacts(
  db: Queryable,
  userIds: readonly string[],
  types: { pushRules: string; ignoredUsers: string },
): Promise<Array<{ user_id: string; displayname: string | null; push_rules: Record<string, unknown> | null; ignored: Record<string, unknown> | null }>> {
  if (userIds.length === 0) return [];
  const { rows } = await sql<{ user_id: string; displayname: string | null; push_rules: Record<string, unknown> | null; ignored: Record<string, unknown> | null }>`
    SELECT r.user_id, u.displayname,
      (SELECT content FROM account_data a WHERE a.user_id = r.user_id AND a.room_id = '' AND a.type = ${types.pushRules}) AS push_rules,
      (SELECT content FROM account_data a WHERE a.user_id = r.user_id AND a.room_id = '' AND a.type = ${types.ignoredUsers}) AS ignored
    FROM unnest(${[...userIds]}::text[]) AS r(user_id) LEFT JOIN users u ON u.user_id = r.user_id`.execute(db);
  return rows;
}

/** A user's notifications, newest first, below `before` (an id), optionally highlights only. */
export async function notificationsOfUser(db: Queryable, userId: string, options: { before?: number; limit: number; onlyHighlight: boolean }): Promise<PushNotificationRow[]> {
  let query = db.selectFrom('push_notifications').selectAll().where('user_id', '=', userId);
  if (options.before !== undefined) query = query.where('id', '<', options.before);
  if (options.onlyHighlight) query = query.where('highlight', '=', true);
  return query.orderBy('id', 'desc').limit(options.limit).execute();
}

/** Notifications a pusher has not sent yet, oldest first. */
export async function unsentNotifications(db: Queryable, userId: string, afterId: number, limit: number): Promise<PushNotificationRow[]> {
  return db.selectFrom('push_notifications').selectAll().where('user_id', '=', userId).where('id', '>', afterId).orderBy('id').limit(limit).execute();
}

export async function pushProgress(db: Queryable): Promise<{ announced: number; evaluated: number }> {
  const row = await db.selectFrom('push_progress').select(['announced', 'evaluated']).executeTakeFirst();
  return { announced: Number(row?.announced ?? 0), evaluated: Number(row?.evaluated ?? 0) };
}

export async function announcePushPosition(db: Queryable, position: number): Promise<void> {
  await db.updateTable('push_progress').set({ announced: sql<number>`greatest(announced, ${position})` }).execute();
}

/** What push evaluation needs of an event. */
export interface PushCandidate {
  stream_ordering: number;
  event_id: string;
  room_id: string;
  sender: string;
  type: string;
  state_key: string | null;
  content: Record<string, unknown>;
}

/** Unredacted events of every room in (after, upTo], oldest first. */
export async function eventsToEvaluate(db: Queryable, after: number, upTo: number, limit: number): Promise<PushCandidate[]> {
  const rows = await db
    .selectFrom('events')
    .select(['stream_ordering', 'event_id', 'room_id', 'sender', 'type', 'state_key', (eb) => eb.ref('json', '->').key('content').as('content')])
    .where('stream_ordering', '>', after)
    .where('stream_ordering', '<=', upTo)
    .where('redacted_because', 'is', null)
    .orderBy('stream_ordering')
    .limit(limit)
    .execute();
  return rows.map((row) => ({ ...row, stream_ordering: Number(row.stream_ordering), content: (row.content ?? {}) as Record<string, unknown> }));
}

/** SQL: the thread of event `e` ('main' unless it is an `m.thread` reply). */
const THREAD_OF_EVENT = sql`coalesce(CASE WHEN e.json->'content'->'m.relates_to'->>'rel_type' = 'm.thread' THEN e.json->'content'->'m.relates_to'->>'event_id' END, 'main')`;

/**
 * The badge count (Push Gateway `counts.unread`): the user's notifications in
 * rooms they are joined to, after their unthreaded read receipt and the
 * receipt of the notification's thread, and after their own latest event in
 * the same thread (in the main timeline: anywhere), as unread counts do.
 */
export async function unreadNotificationCount(db: Queryable, userId: string): Promise<number> {
  const result = await sql<{ count: string }>`SELECT count(*) AS count FROM push_notifications n
      JOIN room_memberships m ON m.room_id = n.room_id AND m.user_id = n.user_id AND m.membership = 'join'
      WHERE n.user_id = ${userId}
        AND n.stream_ordering > coalesce((SELECT max(r.event_stream_ordering) FROM receipts r
          WHERE r.room_id = n.room_id AND r.user_id = n.user_id AND r.receipt_type IN ('m.read', 'm.read.private')
            AND r.thread_id IN ('', n.thread_id)), 0)
        AND NOT EXISTS (SELECT 1 FROM events e WHERE e.room_id = n.room_id AND e.stream_ordering > n.stream_ordering AND e.sender = n.user_id
          AND ${THREAD_OF_EVENT} IN ('main', n.thread_id))`.execute(db);
  return Number(result.rows[0]?.count ?? 0);
}

/** The user's own events in a room after `after`: position and thread, for the `read` flags of /notifications. */
export async function ownEventThreadsAfter(db: Queryable, roomId: string, userId: string, after: number): Promise<Array<{ stream_ordering: number; thread_id: string }>> {
  const result = await sql<{ stream_ordering: string; thread_id: string }>`SELECT e.stream_ordering, ${THREAD_OF_EVENT} AS thread_id FROM events e
      WHERE e.room_id = ${roomId} AND e.sender = ${userId} AND e.stream_ordering > ${after}
      ORDER BY e.stream_ordering DESC LIMIT 1000`.execute(db);
  return result.rows.map((row) => ({ stream_ordering: Number(row.stream_ordering), thread_id: row.thread_id }));
}

export async function deleteNotificationsBefore(db: Queryable, ts: number): Promise<number> {
  const result = await db.deleteFrom('push_notifications').where('ts', '<', ts).executeTakeFirst();
  return Number(result.numDeletedRows);
}
