import { sql } from 'kysely';
import type { Queryable, Tx } from '../database.ts';
import type { AppserviceStateRow, AppserviceTransactionRow } from '../tables/appservices.ts';
import type { EventRow } from '../tables/rooms.ts';
import type { ToDeviceMessageRow } from '../tables/e2ee.ts';
import type { PresenceRow, ReceiptRow } from '../tables/user-data.ts';

/** Where a new appservice starts on each stream: their heads (no history is replayed to a new appservice). */
export interface StreamHeads {
  room: number;
  toDevice: number;
  receipt: number;
  presence: number;
  deviceList: number;
}

/** A state row for each appservice not seen before, starting at the streams' heads. */
export async function ensureAppserviceState(db: Queryable, appserviceIds: readonly string[], heads: StreamHeads): Promise<void> {
  if (appserviceIds.length === 0) return;
  await db
    .insertInto('appservice_state')
    .values(
      appserviceIds.map((appservice_id) => ({
        appservice_id,
        stream_position: heads.room,
        visible_position: heads.room,
        to_device_position: heads.toDevice,
        receipt_position: heads.receipt,
        presence_position: heads.presence,
        device_list_position: heads.deviceList,
        receipt_visible_position: heads.receipt,
        presence_visible_position: heads.presence,
      })),
    )
    .onConflict((conflict) => conflict.column('appservice_id').doNothing())
    .execute();
}

/** The room-event stream is visible to readers up to `position`: every appservice may be delivered up to there. */
export async function announceVisiblePosition(db: Queryable, position: number): Promise<void> {
  await db
    .updateTable('appservice_state')
    .set({ visible_position: sql<number>`GREATEST(visible_position, ${position})` })
    .where('visible_position', '<', position)
    .execute();
}

/** Receipts and presence are visible to readers up to these positions (either may be absent). */
export async function announceVisibleEphemeralPositions(db: Queryable, positions: { receipt?: number; presence?: number }): Promise<void> {
  const update: Record<string, unknown> = {};
  if (positions.receipt !== undefined) update.receipt_visible_position = sql<number>`GREATEST(receipt_visible_position, ${positions.receipt})`;
  if (positions.presence !== undefined) update.presence_visible_position = sql<number>`GREATEST(presence_visible_position, ${positions.presence})`;
  if (Object.keys(update).length === 0) return;
  await db.updateTable('appservice_state').set(update).execute();
}

export async function lockAppserviceState(tx: Tx, appserviceId: string): Promise<AppserviceStateRow | undefined> {
  return tx.selectFrom('appservice_state').selectAll().where('appservice_id', '=', appserviceId).forUpdate().executeTakeFirst();
}

export async function findAppserviceState(db: Queryable, appserviceId: string): Promise<AppserviceStateRow | undefined> {
  return db.selectFrom('appservice_state').selectAll().where('appservice_id', '=', appserviceId).executeTakeFirst();
}

export async function advanceAppserviceState(
  tx: Tx,
  appserviceId: string,
  update: { stream_position?: number; next_txn_id?: number; to_device_position?: number; receipt_position?: number; presence_position?: number; device_list_position?: number },
): Promise<void> {
  await tx.updateTable('appservice_state').set(update).where('appservice_id', '=', appserviceId).execute();
}

/** The oldest transaction not yet acknowledged (there is at most one: the next is built only once it is). */
export async function pendingTransaction(db: Queryable, appserviceId: string): Promise<AppserviceTransactionRow | undefined> {
  return db
    .selectFrom('appservice_transactions')
    .selectAll()
    .where('appservice_id', '=', appserviceId)
    .orderBy('txn_id')
    .limit(1)
    .executeTakeFirst();
}

export async function insertAppserviceTransaction(
  tx: Tx,
  row: { appservice_id: string; txn_id: number; events: unknown[]; ephemeral?: unknown[]; to_device?: unknown[]; extensions?: Record<string, unknown>; last_position: number },
): Promise<AppserviceTransactionRow> {
  return tx
    .insertInto('appservice_transactions')
    .values({
      appservice_id: row.appservice_id,
      txn_id: row.txn_id,
      // jsonb columns: arrays must be sent as JSON text, or pg would make them Postgres arrays.
      events: sql`${JSON.stringify(row.events)}::jsonb`,
      ephemeral: sql`${JSON.stringify(row.ephemeral ?? [])}::jsonb`,
      to_device: sql`${JSON.stringify(row.to_device ?? [])}::jsonb`,
      extensions: sql`${JSON.stringify(row.extensions ?? {})}::jsonb`,
      last_position: row.last_position,
      created_ts: Date.now(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteAppserviceTransaction(db: Queryable, appserviceId: string, txnId: number): Promise<void> {
  await db.deleteFrom('appservice_transactions').where('appservice_id', '=', appserviceId).where('txn_id', '=', txnId).execute();
}

/** Room events after `after` up to and including `upTo`, in stream order. */
export async function eventsAfterPosition(db: Queryable, after: number, upTo: number, limit: number): Promise<EventRow[]> {
  return db
    .selectFrom('events')
    .selectAll()
    .where('stream_ordering', '>', after)
    .where('stream_ordering', '<=', upTo)
    .orderBy('stream_ordering')
    .limit(limit)
    .execute();
}

/** Joined members and local aliases of each room, for deciding which appservices an event concerns. */
export async function roomInterestFacts(
  db: Queryable,
  roomIds: readonly string[],
): Promise<{ members: Map<string, string[]>; aliases: Map<string, string[]> }> {
  const members = new Map<string, string[]>();
  const aliases = new Map<string, string[]>();
  if (roomIds.length === 0) return { members, aliases };
  const memberRows = await db
    .selectFrom('room_memberships')
    .select(['room_id', 'user_id'])
    .where('room_id', 'in', roomIds)
    .where('membership', '=', 'join')
    .execute();
  for (const row of memberRows) members.set(row.room_id, [...(members.get(row.room_id) ?? []), row.user_id]);
  const aliasRows = await db.selectFrom('room_aliases').select(['room_id', 'room_alias']).where('room_id', 'in', roomIds).execute();
  for (const row of aliasRows) aliases.set(row.room_id, [...(aliases.get(row.room_id) ?? []), row.room_alias]);
  return { members, aliases };
}

/** The appservice's sender user exists from the start (it acts as that user without registering it). */
export async function ensureAppserviceUser(db: Queryable, userId: string, appserviceId: string): Promise<void> {
  await db
    .insertInto('users')
    .values({ user_id: userId, password_hash: null, appservice_id: appserviceId, displayname: userId.slice(1, userId.indexOf(':')), avatar_url: null, created_ts: Date.now() })
    .onConflict((conflict) => conflict.column('user_id').doNothing())
    .execute();
}

/** To-device messages after `after`, in stream order (callers bound them with the to-device stream's current position). */
export async function toDeviceMessagesAfter(db: Queryable, after: number, upTo: number, limit: number, now: number): Promise<ToDeviceMessageRow[]> {
  return db
    .selectFrom('to_device_messages')
    .selectAll()
    .where('position', '>', after)
    .where('position', '<=', upTo)
    .where('expires_ts', '>', now)
    .orderBy('position')
    .limit(limit)
    .execute();
}

export async function listManagedRegistrations(db: Queryable): Promise<Array<{ appservice_id: string; registration: Record<string, unknown> }>> {
  return db.selectFrom('appservice_registrations').select(['appservice_id', 'registration']).orderBy('appservice_id').execute();
}

export async function upsertManagedRegistration(db: Queryable, appserviceId: string, registration: Record<string, unknown>): Promise<void> {
  const json = sql<Record<string, unknown>>`${JSON.stringify(registration)}::jsonb`;
  await db
    .insertInto('appservice_registrations')
    .values({ appservice_id: appserviceId, registration: json, updated_ts: Date.now() })
    .onConflict((conflict) => conflict.column('appservice_id').doUpdateSet({ registration: json, updated_ts: Date.now() }))
    .execute();
}

export async function deleteManagedRegistration(db: Queryable, appserviceId: string): Promise<boolean> {
  const result = await db.deleteFrom('appservice_registrations').where('appservice_id', '=', appserviceId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Receipts of every room changed in (after, upTo], in stream order. */
export async function receiptsAfter(db: Queryable, after: number, upTo: number, limit: number): Promise<ReceiptRow[]> {
  return db.selectFrom('receipts').selectAll().where('stream_id', '>', after).where('stream_id', '<=', upTo).orderBy('stream_id').limit(limit).execute();
}

/** Presence of every user changed in (after, upTo], in stream order. */
export async function presenceAfter(db: Queryable, after: number, upTo: number, limit: number): Promise<PresenceRow[]> {
  return db.selectFrom('presence').selectAll().where('stream_id', '>', after).where('stream_id', '<=', upTo).orderBy('stream_id').limit(limit).execute();
}

/** The rooms each of `userIds` is joined to. */
export async function joinedRoomsOfUsers(db: Queryable, userIds: readonly string[]): Promise<Map<string, string[]>> {
  const byUser = new Map<string, string[]>();
  if (userIds.length === 0) return byUser;
  const rows = await db.selectFrom('room_memberships').select(['room_id', 'user_id']).where('user_id', 'in', [...userIds]).where('membership', '=', 'join').execute();
  for (const row of rows) byUser.set(row.user_id, [...(byUser.get(row.user_id) ?? []), row.room_id]);
  return byUser;
}

/** Rooms where the appservice's sender or a user it registered is joined. */
export async function roomsJoinedByAppserviceUsers(db: Queryable, appserviceId: string, senderUserId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('room_memberships')
    .select('room_id')
    .distinct()
    .where('membership', '=', 'join')
    .where((eb) => eb.or([eb('user_id', '=', senderUserId), eb('user_id', 'in', eb.selectFrom('users').select('user_id').where('appservice_id', '=', appserviceId))]))
    .execute();
  return rows.map((row) => row.room_id);
}

/** The highest receipt and presence positions committed (a worker's own view of those streams does not move). */
export async function committedEphemeralHeads(db: Queryable): Promise<{ receipt: number; presence: number }> {
  const { rows } = await sql<{ receipt: string; presence: string }>`
    SELECT (SELECT COALESCE(MAX(stream_id), 0) FROM receipts) AS receipt, (SELECT COALESCE(MAX(stream_id), 0) FROM presence) AS presence`.execute(db);
  return { receipt: Number(rows[0].receipt), presence: Number(rows[0].presence) };
}
