import { z } from 'zod';
import type { Queryable } from '../storage/database.ts';
import { findFilter } from '../storage/queries/user-filters.ts';
import { invalidParam } from '../errors.ts';
import { EventTypeFilterSchema, eventTypeMatcherOf, type EventTypeMatcher } from './event-type-filter.ts';
import { rangeFilterOf, RoomEventFilterSchema, RoomId, type RoomEventFilter } from '../rooms/room-event-filter.ts';
import type { EventRange } from '../storage/queries/events.ts';

/** Spec: the timeline limit a server picks when the filter names none (Synapse uses 10). */
export const DEFAULT_TIMELINE_LIMIT = 10;
/** Our cap on a requested timeline limit, so one sync cannot ask for a room's whole history. */
export const MAX_TIMELINE_LIMIT = 500;

/** The parts of a spec Filter that /sync applies. Unknown fields are kept (and ignored) as the spec allows. */
export const FilterSchema = z.looseObject({
  event_fields: z.array(z.string()).optional(),
  event_format: z.enum(['client', 'federation']).optional(),
  account_data: EventTypeFilterSchema.optional(),
  presence: EventTypeFilterSchema.optional(),
  room: z
    .looseObject({
      rooms: z.array(RoomId).optional(),
      not_rooms: z.array(RoomId).optional(),
      include_leave: z.boolean().optional(),
      timeline: RoomEventFilterSchema.extend({ limit: z.number().int().min(0).optional(), unread_thread_notifications: z.boolean().optional() }).optional(),
      state: RoomEventFilterSchema.optional(),
      ephemeral: EventTypeFilterSchema.optional(),
      account_data: EventTypeFilterSchema.optional(),
    })
    .optional(),
});

export type FilterJson = z.output<typeof FilterSchema>;

/** The timeline filter's conditions on events, applied in SQL by `eventsInRange`. */
export type TimelineEventFilter = Pick<EventRange, 'types' | 'notTypes' | 'senders' | 'notSenders' | 'containsUrl'>;

export interface SyncFilter {
  timelineLimit: number;
  /** `room.timeline` types/senders/contains_url; empty when the client filters nothing. */
  timelineEvents: TimelineEventFilter;
  /** `room.state` types/senders, applied to the state section. */
  state: RoomEventFilter;
  /** `room.state.lazy_load_members`: members only of the timeline's senders (and the user), each sent once per device. */
  lazyLoadMembers: boolean;
  /** `room.state.include_redundant_members`: with lazy loading, resend members the device already has. */
  includeRedundantMembers: boolean;
  /** `room.timeline.unread_thread_notifications`: per-thread counts, and main-timeline-only `unread_notifications`. */
  unreadThreadNotifications: boolean;
  includeLeave: boolean;
  rooms: ReadonlySet<string> | undefined;
  notRooms: ReadonlySet<string>;
  /** Which event types of the per-user streams the client wants (filter `types`/`not_types`). */
  accountDataTypes: EventTypeMatcher;
  roomAccountDataTypes: EventTypeMatcher;
  ephemeralTypes: EventTypeMatcher;
  presenceTypes: EventTypeMatcher;
}

export function syncFilterOf(filter: FilterJson): SyncFilter {
  const room = filter.room ?? {};
  return {
    timelineLimit: Math.min(room.timeline?.limit ?? DEFAULT_TIMELINE_LIMIT, MAX_TIMELINE_LIMIT),
    timelineEvents: Object.fromEntries(Object.entries(rangeFilterOf(room.timeline ?? {})).filter(([, value]) => value !== undefined)),
    state: room.state ?? {},
    lazyLoadMembers: room.state?.lazy_load_members ?? false,
    includeRedundantMembers: room.state?.include_redundant_members ?? false,
    unreadThreadNotifications: room.timeline?.unread_thread_notifications ?? false,
    includeLeave: room.include_leave ?? false,
    rooms: room.rooms ? new Set(room.rooms) : undefined,
    notRooms: new Set(room.not_rooms ?? []),
    accountDataTypes: eventTypeMatcherOf(filter.account_data),
    roomAccountDataTypes: eventTypeMatcherOf(room.account_data),
    ephemeralTypes: eventTypeMatcherOf(room.ephemeral),
    presenceTypes: eventTypeMatcherOf(filter.presence),
  };
}

/** /sync's `filter` parameter: inline JSON (starts with `{`) or the ID of an uploaded filter. */
export async function resolveSyncFilter(db: Queryable, userId: string, parameter: string | undefined): Promise<SyncFilter> {
  if (parameter === undefined) return syncFilterOf({});
  let json: unknown;
  if (parameter.trimStart().startsWith('{')) {
    try {
      json = JSON.parse(parameter);
    } catch {
      throw invalidParam('filter is neither a filter ID nor valid JSON');
    }
  } else {
    json = await findFilter(db, userId, parameter);
    if (json === undefined) throw invalidParam(`No filter with ID ${JSON.stringify(parameter.slice(0, 64))} was uploaded by this user`);
  }
  const parsed = FilterSchema.safeParse(json);
  if (!parsed.success) throw invalidParam(`filter is not a valid filter: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  return syncFilterOf(parsed.data);
}
