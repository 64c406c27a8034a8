import type { Selectable } from 'kysely';

/**
 * One sliding sync connection (user, device, conn_id): the state behind its
 * latest `pos` and behind the `pos` the latest request started from (a retry
 * may come back with that one). States are JSON (server/sliding-sync/connection-state.ts).
 */
export interface SlidingSyncConnectionsTable {
  user_id: string;
  device_id: string;
  conn_id: string;
  base_pos: number;
  base_state: unknown;
  latest_pos: number;
  latest_state: unknown;
  updated_ts: number;
}

export type SlidingSyncConnectionRow = Selectable<SlidingSyncConnectionsTable>;
