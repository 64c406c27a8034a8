import type { Queryable, Tx } from '../database.ts';
import type { PresenceRow } from '../tables/user-data.ts';

export async function findPresence(db: Queryable, userId: string): Promise<PresenceRow | undefined> {
  return db.selectFrom('presence').selectAll().where('user_id', '=', userId).executeTakeFirst();
}

/** Locks the user's presence row (if any) for a read-modify-write. */
export async function lockPresence(tx: Tx, userId: string): Promise<PresenceRow | undefined> {
  return tx.selectFrom('presence').selectAll().where('user_id', '=', userId).forUpdate().executeTakeFirst();
}

export async function upsertPresence(tx: Tx, row: PresenceRow): Promise<void> {
  await tx
    .insertInto('presence')
    .values(row)
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ presence: row.presence, status_msg: row.status_msg, last_active_ts: row.last_active_ts, stream_id: row.stream_id }))
    .execute();
}

/** Activity without a change others need to be told about: only the timestamp moves (no stream position). */
export async function touchLastActive(db: Queryable, userId: string, ts: number): Promise<void> {
  await db.updateTable('presence').set({ last_active_ts: ts }).where('user_id', '=', userId).where('last_active_ts', '<', ts).execute();
}

/**
 * Presence of the viewer and of everyone sharing a joined room with them,
 * changed in (after, upTo] (everything up to `upTo` when `after` is undefined).
 */
export async function peerPresenceBetween(db: Queryable, viewer: string, after: number | undefined, upTo: number): Promise<PresenceRow[]> {
  let query = db
    .selectFrom('presence')
    .selectAll()
    .where('stream_id', '<=', upTo)
    .where((eb) =>
      eb.or([
        eb('user_id', '=', viewer),
        eb(
          'user_id',
          'in',
          eb
            .selectFrom('room_memberships as mine')
            .innerJoin('room_memberships as other', 'other.room_id', 'mine.room_id')
            .select('other.user_id')
            .where('mine.user_id', '=', viewer)
            .where('mine.membership', '=', 'join')
            .where('other.membership', '=', 'join'),
        ),
      ]),
    );
  if (after !== undefined) query = query.where('stream_id', '>', after);
  return query.orderBy('stream_id').execute();
}

/** The presence rows of these users as of `upTo` (rows changed later are left for the sync that covers them). */
export async function presenceOfUsers(db: Queryable, userIds: readonly string[], upTo: number): Promise<PresenceRow[]> {
  if (userIds.length === 0) return [];
  return db.selectFrom('presence').selectAll().where('user_id', 'in', [...userIds]).where('stream_id', '<=', upTo).orderBy('stream_id').execute();
}

/** Users shown online whose last activity is older than `before`. */
export async function idleOnlineUsers(db: Queryable, before: number, limit: number): Promise<string[]> {
  const rows = await db.selectFrom('presence').select('user_id').where('presence', '!=', 'offline').where('last_active_ts', '<', before).limit(limit).execute();
  return rows.map((row) => row.user_id);
}

/** Whether two users share a room both are joined to. */
export async function shareARoom(db: Queryable, a: string, b: string): Promise<boolean> {
  const row = await db
    .selectFrom('room_memberships as mine')
    .innerJoin('room_memberships as other', 'other.room_id', 'mine.room_id')
    .select('mine.room_id')
    .where('mine.user_id', '=', a)
    .where('mine.membership', '=', 'join')
    .where('other.user_id', '=', b)
    .where('other.membership', '=', 'join')
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
