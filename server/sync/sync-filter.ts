import { z } from 'zod';
import type { Queryable } from '../storage/database.ts';
import { findFilter } from '../storage/queries/user-filters.ts';
import { invalidParam } from '../errors.ts';
import { EventTypeFilterSchema, eventTypeMatcherOf, type EventTypeMatcher } from './event-type-filter.ts';

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
      rooms: z.array(z.string()).optional(),
      not_rooms: z.array(z.string()).optional(),
      include_leave: z.boolean().optional(),
      timeline: z.looseObject({ limit: z.number().int().min(0).optional() }).optional(),
      state: z.looseObject({ lazy_load_members: z.boolean().optional() }).optional(),
      ephemeral: EventTypeFilterSchema.optional(),
      account_data: EventTypeFilterSchema.optional(),
    })
    .optional(),
});

export type FilterJson = z.output<typeof FilterSchema>;

export interface SyncFilter {
  timelineLimit: number;
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
