import { z } from 'zod';
import { invalidParam } from '../errors.ts';
import { MAX_TIMELINE_LIMIT } from '../sync/sync-filter.ts';
import { requiredStateOf, type RequiredState } from './required-state.ts';

/**
 * The sliding sync request (MSC4186, as Synapse and the clients speak it on
 * the unstable endpoint), with our limits. `pos` and `timeout` may come in the
 * query string (deployed clients) or the body (the MSC's latest text).
 */

export const MAX_LISTS = 100;
export const MAX_RANGES_PER_LIST = 100;
export const MAX_ROOM_SUBSCRIPTIONS = 500;
export const MAX_REQUIRED_STATE_ENTRIES = 100;
const MAX_FILTER_ENTRIES = 100;
/** A timeline limit above ours is lowered to it, as the MSC allows ("the server may cap this number"). */
export const MAX_SLIDING_TIMELINE_LIMIT = MAX_TIMELINE_LIMIT;
export const MAX_TO_DEVICE_LIMIT = 1000;

const Text = z.string().max(255);
const StateTuple = z.tuple([Text, Text]);
const StateElement = z.looseObject({ type: Text.optional(), state_key: Text.optional() });
const RequiredStateSchema = z.union([
  z.array(StateTuple).max(MAX_REQUIRED_STATE_ENTRIES),
  z.looseObject({
    include: z.array(StateElement).max(MAX_REQUIRED_STATE_ENTRIES).optional(),
    exclude: z.array(StateElement).max(MAX_REQUIRED_STATE_ENTRIES).optional(),
    lazy_members: z.boolean().optional(),
  }),
]);
const Index = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Range = z.tuple([Index, Index]);
const TimelineLimit = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const TypeList = z.array(Text.nullable()).max(MAX_FILTER_ENTRIES);

const FiltersSchema = z.looseObject({
  is_dm: z.boolean().optional(),
  is_encrypted: z.boolean().optional(),
  is_invite: z.boolean().optional(),
  is_invited: z.boolean().optional(),
  room_types: TypeList.optional(),
  not_room_types: TypeList.optional(),
  spaces: z.array(Text).max(MAX_FILTER_ENTRIES).optional(),
  tags: z.array(Text).max(MAX_FILTER_ENTRIES).optional(),
  not_tags: z.array(Text).max(MAX_FILTER_ENTRIES).optional(),
});

const ListSchema = z.looseObject({
  ranges: z.array(Range).max(MAX_RANGES_PER_LIST).optional(),
  range: Range.optional(),
  required_state: RequiredStateSchema.optional(),
  timeline_limit: TimelineLimit.optional(),
  filters: FiltersSchema.optional(),
});

const SubscriptionSchema = z.looseObject({
  required_state: RequiredStateSchema.optional(),
  timeline_limit: TimelineLimit.optional(),
});

/** Which lists and subscriptions a per-room extension covers; `*` (the default) means all. */
const RoomScope = { enabled: z.boolean().optional(), lists: z.array(z.string().max(64)).max(MAX_LISTS).optional(), rooms: z.array(Text).max(MAX_ROOM_SUBSCRIPTIONS).optional() };

const ExtensionsSchema = z.looseObject({
  to_device: z.looseObject({ enabled: z.boolean().optional(), since: z.string().regex(/^\d{1,15}$/, 'must be a to_device next_batch').optional(), limit: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional() }).optional(),
  e2ee: z.looseObject({ enabled: z.boolean().optional() }).optional(),
  account_data: z.looseObject(RoomScope).optional(),
  receipts: z.looseObject(RoomScope).optional(),
  typing: z.looseObject(RoomScope).optional(),
});

export const SlidingSyncBody = z.looseObject({
  conn_id: z.string().max(64).optional(),
  pos: z.string().max(64).optional(),
  timeout: z.number().int().min(0).optional(),
  set_presence: z.enum(['offline', 'online', 'unavailable']).optional(),
  lists: z.record(z.string().max(64), ListSchema).optional(),
  room_subscriptions: z.record(Text, SubscriptionSchema).optional(),
  unsubscribe_rooms: z.array(Text).max(MAX_ROOM_SUBSCRIPTIONS).optional(),
  extensions: ExtensionsSchema.optional(),
});

export const SlidingSyncQuery = z.object({
  pos: z.string().max(64).optional(),
  timeout: z.coerce.number().int().min(0).optional(),
  set_presence: z.enum(['offline', 'online', 'unavailable']).optional(),
});

export type SlidingSyncBodyJson = z.output<typeof SlidingSyncBody>;
export type ListJson = z.output<typeof ListSchema>;
export type SubscriptionJson = z.output<typeof SubscriptionSchema>;
export type ListFilters = z.output<typeof FiltersSchema>;
export type ExtensionsJson = z.output<typeof ExtensionsSchema>;
export type RoomScopeJson = { enabled?: boolean; lists?: string[]; rooms?: string[] };

/** What one room wants sent: the combined config of the lists and subscriptions it matched. */
export interface RoomConfig {
  timelineLimit: number;
  requiredState: RequiredState;
}

/** A room config as the connection remembers it (lists and subscriptions are sticky per connection, as matrix-js-sdk expects). */
export interface StoredRoomConfig {
  timeline_limit: number;
  required_state: RequiredState;
}

export interface SlidingList {
  key: string;
  /** Inclusive index pairs; undefined means the whole list. */
  ranges: Array<[number, number]> | undefined;
  config: StoredRoomConfig;
  filters: ListFilters;
}

/**
 * A list as requested, with what it left out taken from the same list of the
 * connection's previous request (clients send sticky parameters only when
 * they change). A list that never named its room config is refused.
 */
export function resolveList(key: string, json: ListJson, previous: { config: StoredRoomConfig; filters: ListFilters } | undefined): SlidingList {
  const ranges = json.ranges ?? (json.range ? [json.range] : undefined);
  for (const [start, end] of ranges ?? []) {
    if (start > end) throw invalidParam(`lists.${key}: range [${start}, ${end}] starts after it ends`);
  }
  const timelineLimit = json.timeline_limit ?? previous?.config.timeline_limit;
  const requiredState = json.required_state ? requiredStateOf(json.required_state) : previous?.config.required_state;
  if (timelineLimit === undefined || requiredState === undefined) throw invalidParam(`lists.${key} needs timeline_limit and required_state`);
  return {
    key,
    ranges,
    config: { timeline_limit: Math.min(timelineLimit, MAX_SLIDING_TIMELINE_LIMIT), required_state: requiredState },
    // A list sent with only its window (sticky style) keeps its filters; one that names its config names its filters too.
    filters: json.filters ?? (json.timeline_limit === undefined && json.required_state === undefined ? previous?.filters : undefined) ?? {},
  };
}

export function resolveSubscription(roomId: string, json: SubscriptionJson, previous: StoredRoomConfig | undefined): StoredRoomConfig {
  const timelineLimit = json.timeline_limit ?? previous?.timeline_limit;
  const requiredState = json.required_state ? requiredStateOf(json.required_state) : previous?.required_state;
  if (timelineLimit === undefined || requiredState === undefined) throw invalidParam(`room_subscriptions.${roomId.slice(0, 64)} needs timeline_limit and required_state`);
  return { timeline_limit: Math.min(timelineLimit, MAX_SLIDING_TIMELINE_LIMIT), required_state: requiredState };
}
