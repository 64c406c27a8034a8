import type { Selectable } from 'kysely';

/** Account data: `room_id` is '' for global data, else the room it belongs to. */
export interface AccountDataTable {
  user_id: string;
  room_id: string;
  type: string;
  content: Record<string, unknown>;
  /** Position in the account-data stream of the last change. */
  stream_id: number;
}

/** The latest receipt of each (room, type, user, thread); `thread_id` '' is unthreaded. */
export interface ReceiptsTable {
  room_id: string;
  receipt_type: string;
  user_id: string;
  thread_id: string;
  event_id: string;
  event_stream_ordering: number;
  ts: number;
  stream_id: number;
}

export interface PresenceTable {
  user_id: string;
  presence: string;
  status_msg: string | null;
  last_active_ts: number;
  stream_id: number;
}

export type AccountDataRow = Selectable<AccountDataTable>;
export type ReceiptRow = Selectable<ReceiptsTable>;
export type PresenceRow = Selectable<PresenceTable>;
