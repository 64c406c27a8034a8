import type { AppContext } from '../app-context.ts';
import { MatrixError, notFound } from '../errors.ts';
import { findMembership, membershipsOfUser } from '../storage/queries/room-state.ts';
import { resolveRoomIdOrAlias } from './aliases.ts';
import { loadRoomPreview, mayPreview, summaryOf } from './room-preview.ts';

/**
 * GET /_matrix/client/v1/room_summary/{roomIdOrAlias}: a room's summary for
 * whoever may preview it (see room-preview.ts); anonymous callers only for
 * public, knock and world-readable rooms. Anything else is 404, the one
 * refusal the spec documents, so a private room's existence does not leak.
 */
export async function roomSummaryFor(app: AppContext, userId: string | undefined, roomIdOrAlias: string) {
  const hidden = () => notFound(`Room ${roomIdOrAlias} was not found`);
  const roomId = await resolveRoomIdOrAlias(app, roomIdOrAlias).catch((error: unknown) => {
    // An unknown alias or a malformed name: the same 404 as a hidden room.
    if (error instanceof MatrixError) return undefined;
    throw error;
  });
  const room = roomId === undefined ? undefined : await loadRoomPreview(app, roomId);
  if (!room) throw hidden();
  const joinedRooms = new Set(userId === undefined ? [] : (await membershipsOfUser(app.db, userId, ['join'])).map((row) => row.room_id));
  if (!(await mayPreview(app, userId, room, joinedRooms))) throw hidden();
  const membership = userId === undefined ? undefined : (await findMembership(app.db, room.roomId, userId))?.membership;
  return { ...(await summaryOf(app, room)), ...(membership ? { membership } : {}) };
}
