import type { AppContext } from '../app-context.ts';
import { forbidden, notFound } from '../errors.ts';
import type { PersistentEvent } from '../rooms/event.ts';
import { namedPowerLevel, powerLevelOf } from '../rooms/power-levels.ts';
import { currentStateEvents } from '../storage/queries/room-state.ts';
import { findRoom } from '../storage/queries/rooms.ts';
import type { RoomRow } from '../storage/tables/rooms.ts';
import { membersWith } from '../storage/queries/channels.ts';

/** The power level of a channel admin, as createRoom gives the creator. */
export const CHANNEL_ADMIN_LEVEL = 100;

/**
 * Who may manage a channel through the admin API:
 *  - `admin` (policy, audit): a server admin, or a joined member at power level 100;
 *  - `moderator` (join requests): also a joined member at the room's kick
 *    level (50 by default), because approving invites and denying kicks.
 * Everyone else is refused with M_FORBIDDEN, and a channel they cannot manage
 * is refused the same way whether or not it exists, so nothing leaks.
 */
export type ChannelRole = 'admin' | 'moderator';

export interface ChannelActor {
  userId: string;
  isAdmin: boolean;
}

export interface ChannelAccess {
  room: RoomRow;
  /** The member whose name the Matrix events carry: the actor if they may send them, else a local channel admin. */
  sender: string;
  powerLevels: PersistentEvent | undefined;
  /** A user's current power level in the room. */
  levelOf: (userId: string) => number;
}

export async function requireChannelRole(app: AppContext, actor: ChannelActor, roomId: string, role: ChannelRole): Promise<ChannelAccess> {
  const room = await findRoom(app.db, roomId);
  const refusal = forbidden(role === 'admin' ? `Only a channel admin or a server admin may manage ${roomId}` : `Only a channel moderator or a server admin may handle join requests of ${roomId}`);
  if (!room) throw actor.isAdmin ? notFound(`Room ${roomId} is not known to this server`) : refusal;
  const state = await currentStateEvents(app.db, roomId, [{ type: 'm.room.power_levels', state_key: '' }, { type: 'm.room.create', state_key: '' }]);
  const powerLevels = state.find((row) => row.type === 'm.room.power_levels')?.json;
  const create = state.find((row) => row.type === 'm.room.create')?.json;
  const levelOf = (userId: string) => powerLevelOf(userId, powerLevels, create, room.room_version);
  const needed = role === 'admin' ? CHANNEL_ADMIN_LEVEL : Math.min(CHANNEL_ADMIN_LEVEL, namedPowerLevel('kick', powerLevels));
  const joined = (await membersWith(app.db, roomId, ['join'])).map((member) => member.user_id);
  const actorJoined = joined.includes(actor.userId);
  if (actorJoined && levelOf(actor.userId) >= needed) return { room, sender: actor.userId, powerLevels, levelOf };
  if (!actor.isAdmin) throw refusal;
  // A server admin outside the room acts through its most powerful local member, as Synapse's admin API does.
  const local = joined.filter((userId) => userId.endsWith(`:${app.config.server_name}`)).sort((a, b) => levelOf(b) - levelOf(a));
  if (local.length === 0 || levelOf(local[0]) < needed) throw forbidden(`No local member of ${roomId} has the power to make this change`);
  return { room, sender: local[0], powerLevels, levelOf };
}
