import { sql } from 'kysely';
import type { Queryable, Tx } from '../database.ts';
import type { RoomRow } from '../tables/rooms.ts';

export async function insertRoom(tx: Tx, room: { room_id: string; room_version: string; creator: string; created_ts: number; is_public: boolean }): Promise<void> {
  await tx.insertInto('rooms').values(room).execute();
}

export async function findRoom(db: Queryable, roomId: string): Promise<RoomRow | undefined> {
  return db.selectFrom('rooms').selectAll().where('room_id', '=', roomId).executeTakeFirst();
}

/** Locks the room row: events of one room are appended one at a time, so its DAG stays linear. */
export async function lockRoom(tx: Tx, roomId: string): Promise<RoomRow | undefined> {
  return tx.selectFrom('rooms').selectAll().where('room_id', '=', roomId).forUpdate().executeTakeFirst();
}

/** Moves the room's head to its newest event and returns who is joined now (the users to wake). */
export async function advanceRoomHead(tx: Tx, roomId: string, eventId: string, depth: number): Promise<string[]> {
  const { rows } = await sql<{ members: string[] }>`
    UPDATE rooms SET latest_event_id = ${eventId}, latest_depth = ${depth} WHERE room_id = ${roomId}
    RETURNING (SELECT coalesce(array_agg(user_id), '{}') FROM room_memberships WHERE room_id = ${roomId} AND membership = 'join') AS members`.execute(tx);
  return rows[0]?.members ?? [];
}

/** Claims an alias; false when it is taken. */
export async function insertRoomAlias(tx: Tx, alias: { room_alias: string; room_id: string; creator: string; created_ts: number }): Promise<boolean> {
  const result = await tx.insertInto('room_aliases').values(alias).onConflict((c) => c.column('room_alias').doNothing()).executeTakeFirst();
  return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
}

export async function findRoomIdByAlias(db: Queryable, alias: string): Promise<string | undefined> {
  const row = await db.selectFrom('room_aliases').select('room_id').where('room_alias', '=', alias).executeTakeFirst();
  return row?.room_id;
}

export async function findAlias(db: Queryable, alias: string): Promise<{ room_alias: string; room_id: string; creator: string } | undefined> {
  return db.selectFrom('room_aliases').select(['room_alias', 'room_id', 'creator']).where('room_alias', '=', alias).executeTakeFirst();
}

export async function deleteAlias(db: Queryable, alias: string): Promise<void> {
  await db.deleteFrom('room_aliases').where('room_alias', '=', alias).execute();
}

export async function aliasesOfRoom(db: Queryable, roomId: string): Promise<string[]> {
  const rows = await db.selectFrom('room_aliases').select('room_alias').where('room_id', '=', roomId).orderBy('room_alias').execute();
  return rows.map((row) => row.room_alias);
}

/** Claims an alias outside a transaction; false when it is taken. */
export async function claimAlias(db: Queryable, alias: { room_alias: string; room_id: string; creator: string; created_ts: number }): Promise<boolean> {
  const result = await db.insertInto('room_aliases').values(alias).onConflict((c) => c.column('room_alias').doNothing()).executeTakeFirst();
  return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
}

export async function setRoomPublic(db: Queryable, roomId: string, isPublic: boolean): Promise<void> {
  await db.updateTable('rooms').set({ is_public: isPublic }).where('room_id', '=', roomId).execute();
}

/** Published rooms with their joined-member counts, most members first (the directory's order). */
export async function publishedRooms(db: Queryable): Promise<Array<{ room_id: string; joined: number }>> {
  return db
    .selectFrom('rooms as r')
    .leftJoin('room_memberships as m', (join) => join.onRef('m.room_id', '=', 'r.room_id').on('m.membership', '=', 'join'))
    .select(['r.room_id', (eb) => eb.fn.count<number>('m.user_id').as('joined')])
    .where('r.is_public', '=', true)
    .groupBy('r.room_id')
    .orderBy('joined', 'desc')
    .orderBy('r.room_id')
    .execute()
    .then((rows) => rows.map((row) => ({ room_id: row.room_id, joined: Number(row.joined) })));
}
