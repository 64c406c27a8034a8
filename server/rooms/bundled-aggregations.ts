import type { Queryable } from '../storage/database.ts';
import { findEvents } from '../storage/queries/events.ts';
import { childrenOf, type ChildSummary } from '../storage/queries/relations.ts';
import type { EventRow } from '../storage/tables/rooms.ts';
import type { ClientEvent, Viewer } from './client-event.ts';
import { filterVisibleEvents } from './visibility.ts';

/**
 * Bundled aggregations (spec: "Aggregations of child events"): the server
 * adds `unsigned["m.relations"]` to events it serves, for
 * - `m.replace`: the most recent edit by the original sender (highest
 *   origin_server_ts, then event ID), as a whole event. The original content
 *   is left as it is: clients apply the edit (spec v1.7+).
 * - `m.thread`: the thread's latest event (with its own edit bundled), the
 *   number of replies, and whether the reader took part.
 * - `m.reference`: the IDs of the referencing events.
 * Only children the reader may see count. State events and redacted events
 * get no aggregations. One query finds the children of a whole batch.
 */
export const BUNDLED_REL_TYPES = ['m.replace', 'm.thread', 'm.reference'] as const;

/** `edits`: only m.replace (for events bundled inside another's aggregation, so it cannot recurse). */
export type BundleDepth = 'all' | 'edits';
type ToClient = (rows: readonly EventRow[], depth: BundleDepth) => Promise<ClientEvent[]>;

export async function bundleAggregations(db: Queryable, rows: readonly EventRow[], events: ClientEvent[], viewer: Viewer, depth: BundleDepth, toClient: ToClient): Promise<void> {
  // Edits carry no edits of their own, so at the `edits` depth they are not looked up.
  const parents = rows.filter((row) => row.state_key === null && row.redacted_because === null && (depth === 'all' || relTypeOf(row) !== 'm.replace'));
  if (parents.length === 0) return;
  const relTypes = depth === 'all' ? BUNDLED_REL_TYPES : (['m.replace'] as const);
  const children = await visibleChildren(db, viewer.userId, await childrenOf(db, parents.map((row) => row.event_id), relTypes));
  if (children.length === 0) return;
  const byParent = new Map<string, ChildSummary[]>();
  for (const child of children) byParent.set(child.parent_id, [...(byParent.get(child.parent_id) ?? []), child]);

  // A relation counts only within the parent's room: an event elsewhere naming this event ID is not its child.
  const plans = parents.map((parent) => ({ parent, ...planFor(parent, (byParent.get(parent.event_id) ?? []).filter((child) => child.room_id === parent.room_id), viewer.userId) }));
  const wanted = plans.flatMap((plan) => [plan.edit?.event_id, plan.thread?.latest.event_id]).filter((id): id is string => id !== undefined);
  const fetched = await findEvents(db, wanted);
  const edits = new Map((await toClient(fetched, 'edits')).map((event) => [event.event_id, event]));

  const eventById = new Map(events.map((event) => [event.event_id, event]));
  for (const plan of plans) {
    const relations: Record<string, unknown> = {};
    const edit = plan.edit && edits.get(plan.edit.event_id);
    if (edit) relations['m.replace'] = edit;
    const latest = plan.thread && edits.get(plan.thread.latest.event_id);
    if (plan.thread && latest) relations['m.thread'] = { latest_event: latest, count: plan.thread.count, current_user_participated: plan.thread.participated };
    if (plan.references.length > 0) relations['m.reference'] = { chunk: plan.references.map((child) => ({ event_id: child.event_id })) };
    const event = eventById.get(plan.parent.event_id);
    if (event && Object.keys(relations).length > 0) event.unsigned['m.relations'] = relations;
  }
}

function planFor(parent: EventRow, children: readonly ChildSummary[], viewerId: string) {
  // Spec: an edit must come from the original sender, keep the event type, and not target a state event or another edit.
  const parentIsEdit = relTypeOf(parent) === 'm.replace';
  const edits = parentIsEdit ? [] : children.filter((child) => child.rel_type === 'm.replace' && child.sender === parent.sender && child.type === parent.type && child.state_key === null);
  const edit = edits.reduce<ChildSummary | undefined>((best, child) => (!best || isNewerEdit(child, best) ? child : best), undefined);
  const replies = children.filter((child) => child.rel_type === 'm.thread');
  const thread =
    replies.length === 0
      ? undefined
      : { latest: replies.reduce((a, b) => (b.stream_ordering > a.stream_ordering ? b : a)), count: replies.length, participated: parent.sender === viewerId || replies.some((child) => child.sender === viewerId) };
  const references = children.filter((child) => child.rel_type === 'm.reference');
  return { edit, thread, references };
}

function isNewerEdit(a: ChildSummary, b: ChildSummary): boolean {
  if (Number(a.origin_server_ts) !== Number(b.origin_server_ts)) return Number(a.origin_server_ts) > Number(b.origin_server_ts);
  return a.event_id > b.event_id;
}

function relTypeOf(row: EventRow): unknown {
  const relatesTo = row.json.content['m.relates_to'];
  return typeof relatesTo === 'object' && relatesTo !== null ? (relatesTo as Record<string, unknown>).rel_type : undefined;
}

/** The children the reader may see, room by room (a batch may span rooms, as in /sync). */
async function visibleChildren(db: Queryable, userId: string, children: readonly ChildSummary[]): Promise<ChildSummary[]> {
  const visible: ChildSummary[] = [];
  for (const roomId of new Set(children.map((child) => child.room_id))) {
    visible.push(...(await filterVisibleEvents(db, userId, roomId, children.filter((child) => child.room_id === roomId))));
  }
  return visible;
}
