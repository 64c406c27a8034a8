import type { AppContext } from '../app-context.ts';
import { forbidden, invalidParam, notFound } from '../errors.ts';
import { findMembership, membershipsOfUser, currentStateEvents } from '../storage/queries/room-state.ts';
import { findUser, updateUser } from '../storage/queries/users.ts';
import { sendEvent } from '../rooms/persist-event.ts';

/** Synapse's limits: a display name of at most 256 characters, an avatar URL of at most 1000. */
export const MAX_DISPLAYNAME_LENGTH = 256;
export const MAX_AVATAR_URL_LENGTH = 1000;

export const PROFILE_FIELDS = ['displayname', 'avatar_url'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

export interface Profile {
  displayname?: string;
  avatar_url?: string;
}

/** GET /profile/{userId}: what the user set; 404 for users this server does not have (or deactivated ones). */
export async function getProfile(app: AppContext, userId: string): Promise<Profile> {
  const user = await findUser(app.db, userId);
  if (!user || user.deactivated) throw notFound(`There is no user ${userId} on this server`);
  return { ...(user.displayname ? { displayname: user.displayname } : {}), ...(user.avatar_url ? { avatar_url: user.avatar_url } : {}) };
}

/** GET /profile/{userId}/{field}: 404 when the field is not set. */
export async function getProfileField(app: AppContext, userId: string, field: ProfileField): Promise<Profile> {
  const value = (await getProfile(app, userId))[field];
  if (value === undefined) throw notFound(`${userId} has no ${field}`);
  return { [field]: value };
}

/**
 * PUT (or DELETE, with `null`) /profile/{userId}/{field}: only one's own, within
 * the length limits; an avatar must be an mxc:// URI. The change is then carried
 * to the user's member event in every room they are joined to, as new
 * m.room.member events through the normal event path (so the auth rules and
 * sync apply as to any event). A room that refuses the update (say, its power
 * levels forbid it) keeps the old profile; the others still get the new one.
 */
export async function setProfileField(app: AppContext, callerId: string, userId: string, field: ProfileField, value: string | null): Promise<void> {
  if (userId !== callerId) throw forbidden('You can only change your own profile');
  const normalised = value === '' ? null : value;
  if (normalised !== null) checkProfileValue(field, normalised);
  const user = await findUser(app.db, userId);
  if (!user || user.deactivated) throw notFound(`There is no user ${userId} on this server`);
  if (user[field] === normalised) return;
  await updateUser(app.db, userId, { [field]: normalised });
  await propagateToRooms(app, userId, field, normalised);
}

/** A display name or avatar URL a user may set; throws M_INVALID_PARAM naming the limit otherwise. */
export function checkProfileValue(field: ProfileField, value: string): void {
  if (field === 'displayname' && [...value].length > MAX_DISPLAYNAME_LENGTH) throw invalidParam(`displayname may be at most ${MAX_DISPLAYNAME_LENGTH} characters`);
  if (field === 'avatar_url') {
    if (value.length > MAX_AVATAR_URL_LENGTH) throw invalidParam(`avatar_url may be at most ${MAX_AVATAR_URL_LENGTH} characters`);
    if (!/^mxc:\/\/[^/]+\/[^/]+$/.test(value)) throw invalidParam('avatar_url must be an mxc:// URI');
  }
}

async function propagateToRooms(app: AppContext, userId: string, field: ProfileField, value: string | null): Promise<void> {
  for (const membership of await membershipsOfUser(app.db, userId, ['join'])) {
    const roomId = membership.room_id;
    try {
      const [current] = await currentStateEvents(app.db, roomId, [{ type: 'm.room.member', state_key: userId }]);
      if ((await findMembership(app.db, roomId, userId))?.membership !== 'join' || !current) continue;
      // Keep what else the member event says (is_direct, ...), but not the reason of the original join.
      const { reason: _reason, ...content } = current.json.content as Record<string, unknown>;
      if (value === null) delete content[field];
      else content[field] = value;
      await sendEvent(app, roomId, { sender: userId, type: 'm.room.member', stateKey: userId, content: { ...content, membership: 'join' } });
    } catch (error) {
      app.logger.warn({ err: error, roomId, userId }, 'could not carry a profile change to a room');
    }
  }
}
