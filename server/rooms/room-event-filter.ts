import { z } from 'zod';
import { badJson, invalidParam } from '../errors.ts';
import type { EventRange } from '../storage/queries/events.ts';

/**
 * The spec's RoomEventFilter as /messages and /context take it (a JSON
 * query parameter). Type patterns may use `*` as a wildcard. Unknown fields
 * are kept and ignored, as the spec allows.
 */
const MAX_FILTER_ENTRIES = 100;
const Strings = z.array(z.string().max(255)).max(MAX_FILTER_ENTRIES).optional();
/** Room and user IDs by their sigil (Synapse's filter schema checks the same; Complement's TestFilter refuses others). */
export const RoomId = z.string().max(255).regex(/^!./, 'a room ID starts with !');
const RoomIds = z.array(RoomId).max(MAX_FILTER_ENTRIES).optional();
const UserIds = z.array(z.string().max(255).regex(/^@[^:]*:./, 'a user ID looks like @name:server')).max(MAX_FILTER_ENTRIES).optional();

export const RoomEventFilterSchema = z.looseObject({
  limit: z.number().int().min(1).optional(),
  types: Strings,
  not_types: Strings,
  senders: UserIds,
  not_senders: UserIds,
  rooms: RoomIds,
  not_rooms: RoomIds,
  contains_url: z.boolean().optional(),
  lazy_load_members: z.boolean().optional(),
  include_redundant_members: z.boolean().optional(),
});

export type RoomEventFilter = z.output<typeof RoomEventFilterSchema>;

/** The `filter` query parameter: absent is no filter; malformed JSON or a wrong shape is a 400. */
export function parseRoomEventFilter(text: string | undefined): RoomEventFilter {
  if (text === undefined) return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw badJson('filter is not valid JSON');
  }
  const result = RoomEventFilterSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw invalidParam(`filter is not a valid RoomEventFilter: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`.trim());
  }
  return result.data;
}

/** The parts of a filter the events query applies in SQL. */
export function rangeFilterOf(filter: RoomEventFilter): Pick<EventRange, 'types' | 'notTypes' | 'senders' | 'notSenders' | 'containsUrl'> {
  return { types: filter.types, notTypes: filter.not_types, senders: filter.senders, notSenders: filter.not_senders, containsUrl: filter.contains_url };
}

/** Whether the filter's `rooms`/`not_rooms` let this room through (not_rooms wins). */
export function filterAllowsRoom(filter: RoomEventFilter, roomId: string): boolean {
  if (filter.not_rooms?.includes(roomId)) return false;
  return filter.rooms === undefined || filter.rooms.includes(roomId);
}

/** Whether an event type matches the filter's `types`/`not_types`, with `*` wildcards (for state arrays filtered in memory). */
export function filterAllowsType(filter: RoomEventFilter, type: string): boolean {
  if (filter.not_types?.some((pattern) => typeMatches(pattern, type))) return false;
  return filter.types === undefined || filter.types.some((pattern) => typeMatches(pattern, type));
}

function typeMatches(pattern: string, type: string): boolean {
  if (!pattern.includes('*')) return pattern === type;
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return regex.test(type);
}

