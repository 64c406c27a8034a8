import type { Queryable } from '../storage/database.ts';
import { encryptedRoomsAmong, joinedMembersOfRooms, memberChangesBetween, roomsEncryptedBetween } from '../storage/queries/encrypted-rooms.ts';
import { joinedRoomPeersAmong, listJoinedRoomPeers } from '../storage/queries/room-peers.ts';
import { allUsersChangedBetween } from '../storage/queries/device-list-changes.ts';
import { membershipsOfUser } from '../storage/queries/room-state.ts';
import type { MembershipRow } from '../storage/tables/rooms.ts';

/** A point in both streams device-list updates depend on: room memberships and device-list changes. */
export interface DeviceListPoint {
  room: number;
  deviceLists: number;
}

export interface DeviceListUpdates {
  changed: string[];
  left: string[];
}

/**
 * Who the viewer hears device-list changes about: users who share a room
 * with them, both joined (spec: GET /keys/changes), and the viewer themselves
 * (their other devices track their own list too). The relation is symmetric,
 * so it also gives whose long-polls a user's change should wake.
 */
export async function usersSharingRoomsWith(db: Queryable, viewer: string): Promise<string[]> {
  return [...new Set([viewer, ...(await listJoinedRoomPeers(db, viewer))])];
}

/**
 * `device_lists` between two points (/sync, /keys/changes), per the spec's
 * E2EE section:
 * - `changed`: room peers (and the viewer) whose device or cross-signing keys
 *   changed, and users who now share an encrypted room with the viewer (they
 *   joined one the viewer is in, the viewer joined theirs, or a shared room
 *   turned on encryption);
 * - `left`: users who left an encrypted room the viewer is or was in (or whose
 *   room the viewer left) and share no encrypted room with the viewer any more.
 * Cost grows with the membership changes in the viewer's encrypted rooms
 * between the points, not with room sizes or history.
 */
export async function deviceListUpdates(
  db: Queryable,
  viewer: string,
  from: DeviceListPoint,
  to: DeviceListPoint,
  /** The viewer's membership rows, when the caller already read them (/sync reads them once per request). */
  viewerMemberships?: () => Promise<readonly MembershipRow[]>,
): Promise<DeviceListUpdates> {
  // Whoever changed in the range first (usually few), then which of them share a room with the viewer.
  const changedAnywhere = await allUsersChangedBetween(db, from.deviceLists, to.deviceLists);
  const changed = new Set(await joinedRoomPeersAmong(db, viewer, changedAnywhere));
  if (changedAnywhere.includes(viewer)) changed.add(viewer);
  const left = new Set<string>();
  if (to.room > from.room) {
    const memberships = viewerMemberships ? await viewerMemberships() : await membershipsOfUser(db, viewer);
    const encrypted = await encryptedRoomsAmong(db, memberships.map((row) => row.room_id));
    const joinedNow = new Set(memberships.filter((row) => row.membership === 'join' && encrypted.has(row.room_id)).map((row) => row.room_id));
    const [changes, newlyEncrypted, members] = await Promise.all([
      memberChangesBetween(db, [...encrypted], from.room, to.room),
      roomsEncryptedBetween(db, [...joinedNow], from.room, to.room),
      joinedMembersOfRooms(db, [...encrypted]),
    ]);
    const roomsNewToViewer = new Set(newlyEncrypted);
    for (const change of changes) {
      const isJoin = change.membership === 'join';
      if (change.user_id === viewer) {
        if (isJoin && joinedNow.has(change.room_id)) roomsNewToViewer.add(change.room_id);
        else if (!isJoin) for (const member of members.get(change.room_id) ?? []) left.add(member);
      } else if (isJoin && joinedNow.has(change.room_id)) {
        changed.add(change.user_id);
      } else if (change.membership === 'leave' || change.membership === 'ban') {
        left.add(change.user_id);
      }
    }
    for (const roomId of roomsNewToViewer) for (const member of members.get(roomId) ?? []) if (member !== viewer) changed.add(member);
    const sharingNow = new Set([...joinedNow].flatMap((roomId) => members.get(roomId) ?? []));
    for (const userId of left) if (sharingNow.has(userId) || userId === viewer) left.delete(userId);
  }
  for (const userId of left) changed.delete(userId);
  return { changed: [...changed].sort(), left: [...left].sort() };
}
