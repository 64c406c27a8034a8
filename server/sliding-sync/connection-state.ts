import { MatrixError } from '../errors.ts';
import type { Queryable } from '../storage/database.ts';
import { advanceConnection, deleteConnection, findConnection, startConnection } from '../storage/queries/sliding-sync.ts';
import type { StreamToken } from '../sync/stream-token.ts';
import type { ListFilters, StoredRoomConfig } from './request.ts';
import type { RequiredState } from './required-state.ts';

/** Connections one device may keep; starting another drops its least recently used. */
export const MAX_CONNECTIONS_PER_DEVICE = 10;
/** A connection unused this long is forgotten: its `pos` answers M_UNKNOWN_POS and the client starts over. */
export const CONNECTION_LIFETIME_MS = 7 * 24 * 60 * 60_000;
/** Room subscriptions a connection remembers (sticky, as matrix-js-sdk sends them once). */
export const MAX_REMEMBERED_SUBSCRIPTIONS = 500;

/** What a connection has sent of one room. */
export interface SentRoom {
  /** Room-stream position the room's timeline and state were sent up to. */
  upTo: number;
  membership: string;
  timelineLimit: number;
  /** requiredStateKey() of the config it was sent with. */
  requiredState: string;
  /** Whether it was a DM (m.direct) when last sent: a change is sent even when nothing else changed. */
  isDm?: boolean;
}

/** Everything a connection remembers between requests (stored as JSON). */
export interface ConnectionState {
  /** Stream positions the response covered. */
  token: StreamToken;
  rooms: Record<string, SentRoom>;
  /** Lists' sticky parameters and the count last sent. */
  lists: Record<string, { config: StoredRoomConfig; filters: ListFilters; count: number }>;
  subscriptions: Record<string, StoredRoomConfig>;
  /** The to-device position the last response's `next_batch` stood for. */
  toDevice: number;
  /** The required_state configs rooms were sent with, by digest (SentRoom.requiredState). */
  configs?: Record<string, RequiredState>;
}

export interface ConnectionKey {
  user_id: string;
  device_id: string;
  conn_id: string;
}

/** Where a request starts: no state (a new connection) or the state its `pos` stands for. */
export interface ConnectionStart {
  previous: ConnectionState | undefined;
  /** Saves the state of the response being built and returns its `pos`; false if another request moved the connection first. */
  commit(next: ConnectionState): Promise<string | false>;
}

export const unknownPos = (message: string) => new MatrixError('M_UNKNOWN_POS', message, { status: 400 });

export function parsePos(pos: string): number {
  if (!/^\d{1,15}$/.test(pos)) throw unknownPos('pos is not a position this server issued; start a new connection without pos');
  return Number(pos);
}

/**
 * Loads the connection a request continues. Without `pos` it is a new
 * connection (replacing any of the same conn_id). With `pos`, it must be the
 * connection's latest position or the one the latest request started from
 * (a retry); anything else is M_UNKNOWN_POS.
 */
export async function openConnection(db: Queryable, key: ConnectionKey, pos: string | undefined, now = Date.now()): Promise<ConnectionStart> {
  if (pos === undefined) {
    const existing = await findConnection(db, key.user_id, key.device_id, key.conn_id);
    const nextPos = (existing?.latest_pos ?? 0) + 1;
    return {
      previous: undefined,
      async commit(next) {
        await startConnection(db, { ...key, pos: nextPos, state: next, now }, MAX_CONNECTIONS_PER_DEVICE);
        return String(nextPos);
      },
    };
  }
  const wanted = parsePos(pos);
  const row = await findConnection(db, key.user_id, key.device_id, key.conn_id);
  if (!row) throw unknownPos('This sync connection is unknown or has expired; start again without pos');
  if (now - row.updated_ts > CONNECTION_LIFETIME_MS) {
    await deleteConnection(db, key);
    throw unknownPos('This sync connection has expired; start again without pos');
  }
  let previous: ConnectionState;
  if (wanted === row.latest_pos) previous = row.latest_state as ConnectionState;
  else if (wanted === row.base_pos) previous = row.base_state as ConnectionState;
  else throw unknownPos('pos is not the latest position of this connection; start again without pos');
  return {
    previous,
    async commit(next) {
      const nextPos = row.latest_pos + 1;
      const saved = await advanceConnection(db, key, row.latest_pos, { pos: wanted, state: previous }, { pos: nextPos, state: next }, Date.now());
      return saved && String(nextPos);
    },
  };
}
