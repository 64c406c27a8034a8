import type { AppContext } from '../app-context.ts';
import { stateEventsAt } from '../storage/queries/room-state.ts';
import type { EventRow } from '../storage/tables/rooms.ts';
import type { SyncRequest } from './streams/provider.ts';

/** (user, device, room) entries remembered; the least recently used go first. */
export const MAX_LAZY_MEMBER_ROOMS = 20_000;
/** Members remembered per entry; beyond that the oldest are forgotten (and may be sent again). */
export const MAX_LAZY_MEMBERS_PER_ROOM = 2_000;

/** A member event sent to a device, and the room position of the response that carried it. */
interface SentMember {
  eventId: string;
  sentUpTo: number;
}

/**
 * What member events each device was sent, per room, for `lazy_load_members`
 * (spec: "the server should not resend membership events the client already
 * has"). It lives in memory, as Synapse's does: a process that never served a
 * device, or forgot it, resends members, which is redundant but correct.
 * An entry only counts once the client syncs from a token at or after the
 * response that carried it, so a retried request (same `since`) gets them again.
 */
class SentMembersCache {
  private readonly rooms = new Map<string, Map<string, SentMember>>();

  entry(key: string): Map<string, SentMember> {
    let members = this.rooms.get(key);
    if (members) this.rooms.delete(key);
    else members = new Map();
    this.rooms.set(key, members); // most recently used last
    while (this.rooms.size > MAX_LAZY_MEMBER_ROOMS) this.rooms.delete(this.rooms.keys().next().value!);
    return members;
  }
}

const caches = new WeakMap<AppContext, SentMembersCache>();

function cacheOf(app: AppContext): SentMembersCache {
  let cache = caches.get(app);
  if (!cache) caches.set(app, (cache = new SentMembersCache()));
  return cache;
}

/**
 * A room's state section under lazy loading: of the member events, only those
 * of the timeline's senders and of the syncing user, as of the timeline's
 * start, and (unless `include_redundant_members`) not those the device already
 * has. Other state passes through unchanged.
 */
export async function lazyLoadedState(app: AppContext, request: SyncRequest, roomId: string, state: readonly EventRow[], timeline: readonly EventRow[], timelineStart: number): Promise<EventRow[]> {
  const wanted = new Set([request.userId, ...timeline.map((row) => row.sender)]);
  const kept = state.filter((row) => row.type !== 'm.room.member' || wanted.has(row.state_key ?? ''));
  const present = new Set(kept.filter((row) => row.type === 'm.room.member').map((row) => row.state_key));
  const missing = [...wanted].filter((userId) => !present.has(userId));
  const fetched = await stateEventsAt(app.db, roomId, timelineStart, { pairs: missing.map((userId) => ({ type: 'm.room.member', state_key: userId })) });

  const sent = cacheOf(app).entry(`${request.userId}|${request.deviceId}|${roomId}`);
  const knownUpTo = request.since?.room;
  const alreadyHas = (row: EventRow) => {
    const entry = sent.get(row.state_key ?? '');
    return knownUpTo !== undefined && entry?.eventId === row.event_id && entry.sentUpTo <= knownUpTo;
  };
  const result = [...kept, ...fetched].filter((row) => row.type !== 'm.room.member' || request.filter.includeRedundantMembers || !alreadyHas(row));

  // Member events in this response (state and timeline) are the device's once it syncs from its next_batch.
  for (const row of [...result, ...timeline]) {
    if (row.type !== 'm.room.member' || row.state_key === null) continue;
    const entry = sent.get(row.state_key);
    if (entry?.eventId === row.event_id && entry.sentUpTo <= request.upTo.room) continue;
    sent.delete(row.state_key);
    sent.set(row.state_key, { eventId: row.event_id, sentUpTo: request.upTo.room });
    while (sent.size > MAX_LAZY_MEMBERS_PER_ROOM) sent.delete(sent.keys().next().value!);
  }
  return result;
}
