import { currentDeviceListPosition } from '../e2ee/device-list-stream.ts';
import type { Tx } from '../storage/database.ts';
import { joinedRoomsOfUsers, roomInterestFacts } from '../storage/queries/appservices.ts';
import { allUsersChangedBetween } from '../storage/queries/device-list-changes.ts';
import { encryptedRoomsAmong } from '../storage/queries/encrypted-rooms.ts';
import type { AppserviceStateRow } from '../storage/tables/appservices.ts';
import type { EventRow } from '../storage/tables/rooms.ts';
import { isInterestedInRoom } from './interest.ts';
import { ownsUser } from './namespaces.ts';
import type { Registration } from './registration.ts';

export interface DeviceListSummary {
  changed: string[];
  left: string[];
}

/**
 * MSC3202 device lists for an appservice with `org.matrix.msc3202`, as /sync's
 * `device_lists` is for a client, positioned the same way: key changes from
 * the device-list stream after its position; joins and leaves from the
 * membership events of encrypted rooms in the room events this transaction
 * carries.
 * - `changed`: its own users, and users sharing a room it is interested in,
 *   whose device or cross-signing keys changed; users who joined an encrypted
 *   room it is interested in.
 * - `left`: users who left (or were banned from) such a room and share no
 *   encrypted room it is interested in any more.
 * `summary` is undefined when both are empty.
 */
export async function chooseDeviceLists(
  tx: Tx,
  registration: Registration,
  state: AppserviceStateRow,
  roomEvents: readonly EventRow[],
): Promise<{ summary: DeviceListSummary | undefined; upTo: number }> {
  const after = Number(state.device_list_position);
  const upTo = Math.max(after, await currentDeviceListPosition(tx));
  const keyChanges = await allUsersChangedBetween(tx, after, upTo);
  const memberships = roomEvents.filter((row) => row.type === 'm.room.member' && row.state_key !== null);
  const encrypted = await encryptedRoomsAmong(tx, [...new Set(memberships.map((row) => row.room_id))]);
  const joins = new Set<string>();
  const leaves = new Set<string>();
  for (const row of memberships) {
    if (!encrypted.has(row.room_id)) continue;
    const membership = (row.json.content as { membership?: unknown }).membership;
    if (membership === 'join') joins.add(row.state_key!);
    else if (membership === 'leave' || membership === 'ban') leaves.add(row.state_key!);
  }
  if (keyChanges.length === 0 && joins.size === 0 && leaves.size === 0) return { summary: undefined, upTo };

  const users = [...new Set([...keyChanges, ...leaves])];
  const roomsByUser = await joinedRoomsOfUsers(tx, users);
  const allRooms = [...new Set([...roomsByUser.values()].flat())];
  const [facts, encryptedNow] = await Promise.all([roomInterestFacts(tx, allRooms), encryptedRoomsAmong(tx, allRooms)]);
  const interestingRooms = (userId: string) => (roomsByUser.get(userId) ?? []).filter((roomId) => isInterestedInRoom(registration, roomId, facts));

  const changed = new Set(joins);
  for (const userId of keyChanges) if (ownsUser(registration, userId) || interestingRooms(userId).length > 0) changed.add(userId);
  const left = new Set<string>();
  for (const userId of leaves) {
    if (ownsUser(registration, userId) || interestingRooms(userId).some((roomId) => encryptedNow.has(roomId))) continue;
    left.add(userId);
    changed.delete(userId);
  }
  if (changed.size === 0 && left.size === 0) return { summary: undefined, upTo };
  return { summary: { changed: [...changed].sort(), left: [...left].sort() }, upTo };
}
