import type { Queryable } from '../storage/database.ts';
import { findEvents } from '../storage/queries/events.ts';
import { replacedStateOf } from '../storage/queries/room-state.ts';
import type { EventRow } from '../storage/tables/rooms.ts';
import { bundleAggregations, type BundleDepth } from './bundled-aggregations.ts';

/** Spec: ClientEvent, the form clients receive (no hashes, signatures or DAG fields). */
export interface ClientEvent {
  event_id: string;
  room_id?: string;
  sender: string;
  type: string;
  state_key?: string;
  content: Record<string, unknown>;
  origin_server_ts: number;
  redacts?: string;
  unsigned: Record<string, unknown>;
}

/** Who is reading: their own events sent from this device echo the transaction ID. */
export interface Viewer {
  userId: string;
  deviceId?: string;
}

/**
 * Client form of stored events, with `unsigned.age`, the sender's
 * `transaction_id`, `redacted_because` for redacted events, for state
 * events the `prev_content` of the state they replaced, and for a reader
 * the bundled aggregations (`unsigned["m.relations"]`). `withRoomId`
 * false gives sync's ClientEventWithoutRoomID.
 */
export async function toClientEvents(db: Queryable, rows: readonly EventRow[], viewer: Viewer | undefined, withRoomId = true, bundle: BundleDepth = 'all'): Promise<ClientEvent[]> {
  const redactionIds = rows.map((row) => row.redacted_because).filter((id): id is string => id !== null);
  const redactions = new Map((await findEvents(db, redactionIds)).map((row) => [row.event_id, row]));
  const replaced = await replacedStateOf(db, rows.filter((row) => row.state_key !== null).map((row) => row.event_id));
  const now = Date.now();
  const events = rows.map((row) => {
    const event = clientEventOf(row, viewer, now, withRoomId);
    const redaction = row.redacted_because ? redactions.get(row.redacted_because) : undefined;
    if (redaction) event.unsigned.redacted_because = clientEventOf(redaction, undefined, now, true);
    const previous = replaced.get(row.event_id);
    if (previous) {
      // Spec: ClientEvent unsigned `prev_content` and `replaces_state` (clients render "changed their name" from them).
      event.unsigned.prev_content = previous.content;
      event.unsigned.replaces_state = previous.event_id;
    }
    return event;
  });
  // Aggregations depend on the reader (visibility, participation); redaction events are shown without.
  if (viewer) await bundleAggregations(db, rows, events, viewer, bundle, (children, depth) => toClientEvents(db, children, viewer, withRoomId, depth));
  return events;
}

function clientEventOf(row: EventRow, viewer: Viewer | undefined, now: number, withRoomId: boolean): ClientEvent {
  const pdu = row.json;
  const event: ClientEvent = {
    event_id: row.event_id,
    ...(withRoomId ? { room_id: row.room_id } : {}),
    sender: pdu.sender,
    type: pdu.type,
    ...(pdu.state_key !== undefined ? { state_key: pdu.state_key } : {}),
    content: pdu.content,
    origin_server_ts: pdu.origin_server_ts,
    unsigned: { age: Math.max(0, now - pdu.origin_server_ts) },
  };
  // Room version 11 moved `redacts` into content; clients of older versions read it top-level, so offer both.
  const redacts = pdu.redacts ?? (pdu.type === 'm.room.redaction' ? pdu.content.redacts : undefined);
  if (typeof redacts === 'string') event.redacts = redacts;
  if (viewer && row.txn_id && row.sender === viewer.userId && row.txn_device_id === viewer.deviceId) event.unsigned.transaction_id = row.txn_id;
  return event;
}

/** The stripped state of an invite: enough for a client to show what the user is invited to. */
export function strippedStateOf(rows: readonly EventRow[]): Array<Pick<ClientEvent, 'type' | 'state_key' | 'content' | 'sender'>> {
  return rows.map((row) => ({ type: row.type, state_key: row.state_key ?? '', content: row.json.content, sender: row.sender }));
}
