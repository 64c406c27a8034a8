import type { Queryable } from '../database.ts';

/** What counting unread notifications needs of an event. */
export interface UnreadCandidate {
  stream_ordering: number;
  sender: string;
  type: string;
  state_key: string | null;
  content: Record<string, unknown>;
}

/** The room's newest unredacted events in (after, upTo], newest first, at most `limit`. */
export async function unreadCandidates(db: Queryable, roomId: string, after: number, upTo: number, limit: number): Promise<UnreadCandidate[]> {
  const rows = await db
    .selectFrom('events')
    .select(['stream_ordering', 'sender', 'type', 'state_key', (eb) => eb.ref('json', '->').key('content').as('content')])
    .where('room_id', '=', roomId)
    .where('stream_ordering', '>', after)
    .where('stream_ordering', '<=', upTo)
    .where('redacted_because', 'is', null)
    .orderBy('stream_ordering', 'desc')
    .limit(limit)
    .execute();
  return rows.map((row) => ({ ...row, stream_ordering: Number(row.stream_ordering), content: (row.content ?? {}) as Record<string, unknown> }));
}

/** The user's read receipts in a room (public or private), newest position per thread ID; '' is unthreaded. */
export async function readReceiptPositionsByThread(db: Queryable, roomId: string, userId: string): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('receipts')
    .select(['thread_id', (eb) => eb.fn.max<string>('event_stream_ordering').as('position')])
    .where('room_id', '=', roomId)
    .where('receipt_type', 'in', ['m.read', 'm.read.private'])
    .where('user_id', '=', userId)
    .groupBy('thread_id')
    .execute();
  return new Map(rows.map((row) => [row.thread_id, Number(row.position)]));
}

/** The thread (root event ID) of each given event that is a thread reply; others are absent. */
export async function threadRootsOf(db: Queryable, eventIds: readonly string[]): Promise<Map<string, string>> {
  if (eventIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('events')
    .select(['event_id', (eb) => eb.ref('json', '->').key('content').key('m.relates_to').as('relation')])
    .where('event_id', 'in', [...eventIds])
    .execute();
  const roots = new Map<string, string>();
  for (const row of rows) {
    const relation = row.relation as { rel_type?: unknown; event_id?: unknown } | null;
    if (relation?.rel_type === 'm.thread' && typeof relation.event_id === 'string') roots.set(row.event_id, relation.event_id);
  }
  return roots;
}

/** Each member's display name in a room (their current m.room.member's `displayname`); null for a member who set none there. */
export async function memberDisplayNames(db: Queryable, roomId: string, userIds?: readonly string[]): Promise<Map<string, string | null>> {
  if (userIds && userIds.length === 0) return new Map();
  let query = db
    .selectFrom('current_state as cs')
    .innerJoin('events as e', 'e.event_id', 'cs.event_id')
    .select(['cs.state_key', (eb) => eb.ref('e.json', '->').key('content').key('displayname').as('displayname')])
    .where('cs.room_id', '=', roomId)
    .where('cs.type', '=', 'm.room.member');
  if (userIds) query = query.where('cs.state_key', 'in', [...userIds]);
  const rows = await query.execute();
  return new Map(rows.map((row) => [row.state_key, typeof row.displayname === 'string' ? row.displayname : null]));
}
