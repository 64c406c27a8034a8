import type { Tx } from '../database.ts';

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
