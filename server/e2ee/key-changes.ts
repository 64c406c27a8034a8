import type { Queryable } from '../storage/database.ts';
import { listJoinedRoomPeers } from '../storage/queries/room-peers.ts';
import { deviceListChangesSince } from './device-list-stream.ts';

/**
 * Who the viewer hears device-list changes about: users who share a room
 * with them, both joined (spec: GET /keys/changes), and the viewer themselves
 * (their other devices track their own list too).
 */
export async function usersSharingRoomsWith(db: Queryable, viewer: string): Promise<string[]> {
  return [...new Set([viewer, ...(await listJoinedRoomPeers(db, viewer))])];
}

/** GET /keys/changes: users among the viewer's room peers whose device lists changed in (from, to]. */
export async function keyChanges(db: Queryable, viewer: string, from: number, to: number): Promise<{ changed: string[]; left: string[] }> {
  const peers = await usersSharingRoomsWith(db, viewer);
  const changed = await deviceListChangesSince(db, peers, from, to);
  // `left` needs membership changes between the two tokens, which are room-stream positions; with
  // device-list-only tokens it cannot be computed, so it stays empty until /keys/changes takes /sync tokens.
  return { changed: changed.sort(), left: [] };
}
