import { sql } from 'kysely';
import type { Queryable } from '../database.ts';

/** What counting unread notifications needs of an event, and no more. */
export interface UnreadCandidate {
  stream_ordering: number;
  sender: string;
  type: string;
  is_state: boolean;
  msgtype: string | null;
  rel_type: string | null;
  body: string | null;
  mentions: { user_ids?: unknown; room?: unknown } | null;
}

/** The furthest event the user has acknowledged in a room: their newest read receipt (public or private, any thread). */
export async function readReceiptPosition(db: Queryable, roomId: string, userId: string): Promise<number> {
  const row = await db
    .selectFrom('receipts')
    .select((eb) => eb.fn.max<string | null>('event_stream_ordering').as('position'))
    .where('room_id', '=', roomId)
    .where('receipt_type', 'in', ['m.read', 'm.read.private'])
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row?.position == null ? 0 : Number(row.position);
}

/** The room's newest events in (after, upTo], newest first, at most `limit`. */
export async function unreadCandidates(db: Queryable, roomId: string, after: number, upTo: number, limit: number): Promise<UnreadCandidate[]> {
  const { rows } = await sql<UnreadCandidate>`
    SELECT stream_ordering, sender, type, state_key IS NOT NULL AS is_state,
           json->'content'->>'msgtype' AS msgtype,
           json->'content'->'m.relates_to'->>'rel_type' AS rel_type,
           left(json->'content'->>'body', 4096) AS body,
           json->'content'->'m.mentions' AS mentions
    FROM events
    WHERE room_id = ${roomId} AND stream_ordering > ${after} AND stream_ordering <= ${upTo} AND redacted_because IS NULL
    ORDER BY stream_ordering DESC
    LIMIT ${limit}`.execute(db);
  return rows.map((row) => ({ ...row, stream_ordering: Number(row.stream_ordering) }));
}
