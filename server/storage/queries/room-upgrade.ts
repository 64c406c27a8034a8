import type { Queryable, Tx } from '../database.ts';
import { findChannelPolicy, upsertChannelPolicy } from './channels.ts';

/** Points every local alias of a room at its replacement (room upgrades). */
export async function moveRoomAliases(tx: Tx, fromRoomId: string, toRoomId: string): Promise<void> {
  await tx.updateTable('room_aliases').set({ room_id: toRoomId }).where('room_id', '=', fromRoomId).execute();
}

/** Moves the published-directory listing from a room to its replacement. */
export async function movePublication(tx: Tx, fromRoomId: string, toRoomId: string): Promise<void> {
  const row = await tx.selectFrom('rooms').select('is_public').where('room_id', '=', fromRoomId).executeTakeFirst();
  if (!row?.is_public) return;
  await tx.updateTable('rooms').set({ is_public: false }).where('room_id', '=', fromRoomId).execute();
  await tx.updateTable('rooms').set({ is_public: true }).where('room_id', '=', toRoomId).execute();
}

/** Gives the replacement room the channel policy row (which bots may join) of the room it replaces. */
export async function copyChannelPolicy(tx: Tx, fromRoomId: string, toRoomId: string): Promise<void> {
  const row = await findChannelPolicy(tx, fromRoomId);
  if (row) await upsertChannelPolicy(tx, { ...row, room_id: toRoomId, updated_ts: Date.now() });
}

/** Rooms whose current state has an `m.space.child` for `childRoomId`: the spaces that list it. */
export async function spacesListing(db: Queryable, childRoomId: string): Promise<Array<{ room_id: string; content: Record<string, unknown> }>> {
  const rows = await db
    .selectFrom('current_state as cs')
    .innerJoin('events as e', 'e.event_id', 'cs.event_id')
    .select(['cs.room_id', (eb) => eb.ref('e.json', '->').key('content').as('content')])
    .where('cs.type', '=', 'm.space.child')
    .where('cs.state_key', '=', childRoomId)
    .execute();
  return rows.map((row) => ({ room_id: row.room_id, content: (row.content ?? {}) as Record<string, unknown> }));
}
