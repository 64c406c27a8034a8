import type { AppContext } from '../app-context.ts';
import { filterAllowsType } from '../rooms/room-event-filter.ts';
import { stateChangedBetween, stateEventsAt } from '../storage/queries/room-state.ts';
import type { EventRow } from '../storage/tables/rooms.ts';
import { lazyLoadedState } from './lazy-members.ts';
import type { SyncRequest } from './streams/provider.ts';

/** Whether the client's `room.timeline` filter may leave events out of a timeline. */
export function timelineIsFiltered(request: SyncRequest): boolean {
  return Object.keys(request.filter.timelineEvents).length > 0;
}

/**
 * The state section when the timeline is filtered: the timeline no longer
 * carries every state change, so the state is the room's state at `upTo`
 * (all of it, or only what changed after `after`) less the events the
 * timeline already holds, so that no change is lost to the filter.
 */
export async function stateBesideFilteredTimeline(app: AppContext, roomId: string, after: number | undefined, upTo: number, timeline: readonly EventRow[]): Promise<EventRow[]> {
  const pairs = after === undefined ? undefined : await stateChangedBetween(app.db, roomId, after, upTo);
  const rows = await stateEventsAt(app.db, roomId, upTo, pairs ? { pairs } : {});
  const inTimeline = new Set(timeline.map((row) => row.event_id));
  return rows.filter((row) => !inTimeline.has(row.event_id));
}

/** The `room.state` filter (types, senders) and lazy loading of members, applied to a room's state section. */
export async function filterStateSection(app: AppContext, request: SyncRequest, roomId: string, state: readonly EventRow[], timeline: readonly EventRow[], timelineStart: number): Promise<EventRow[]> {
  const filter = request.filter.state;
  let rows = state.filter(
    (row) => filterAllowsType(filter, row.type) && (filter.senders === undefined || filter.senders.includes(row.sender)) && !(filter.not_senders ?? []).includes(row.sender),
  );
  if (request.filter.lazyLoadMembers && filterAllowsType(filter, 'm.room.member')) rows = await lazyLoadedState(app, request, roomId, rows, timeline, timelineStart);
  return rows;
}
