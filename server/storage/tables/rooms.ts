import type { Generated, Insertable, Selectable } from 'kysely';
import type { PersistentEvent } from '../../rooms/event.ts';

export interface RoomsTable {
  room_id: string;
  room_version: string;
  creator: string;
  created_ts: number;
  /** Published in the room directory. */
  is_public: Generated<boolean>;
  /** The newest event: the next event's only prev_event (single-server rooms have a linear DAG). */
  latest_event_id: string | null;
  latest_depth: Generated<number>;
}

/** Every persisted event. `stream_ordering` is its position in the room-event stream. */
export interface EventsTable {
  event_id: string;
  room_id: string;
  stream_ordering: number;
  depth: number;
  type: string;
  state_key: string | null;
  sender: string;
  origin_server_ts: number;
  /** The PDU (with event_id); replaced by its redacted form when redacted. */
  json: PersistentEvent;
  /** The m.room.redaction event that redacted this one. */
  redacted_because: string | null;
  txn_device_id: string | null;
  txn_id: string | null;
}

/** Idempotent sends: (user, device, endpoint scope, txnId) -> the event it created. */
export interface EventTxnsTable {
  user_id: string;
  device_id: string;
  scope: string;
  txn_id: string;
  event_id: string;
  created_ts: number;
}

/** State history: the state at position P is, per (type, state_key), the latest row at or before P. */
export interface StateEventsTable {
  room_id: string;
  type: string;
  state_key: string;
  event_id: string;
  stream_ordering: number;
}

export interface CurrentStateTable {
  room_id: string;
  type: string;
  state_key: string;
  event_id: string;
}

/** Each user's current membership of each room, for fast "which rooms am I in" lookups. */
export interface RoomMembershipsTable {
  room_id: string;
  user_id: string;
  membership: string;
  event_id: string;
  stream_ordering: number;
  forgotten: Generated<boolean>;
}

export interface RoomAliasesTable {
  room_alias: string;
  room_id: string;
  creator: string;
  created_ts: number;
}

export interface UserFiltersTable {
  user_id: string;
  filter_id: string;
  filter: Record<string, unknown>;
  created_ts: number;
}

export type RoomRow = Selectable<RoomsTable>;
export type EventRow = Selectable<EventsTable>;
export type NewEventRow = Insertable<EventsTable>;
export type MembershipRow = Selectable<RoomMembershipsTable>;
