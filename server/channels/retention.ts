import type { AppContext } from '../app-context.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import { deleteMediaOfPurgedEvents } from '../media/purge.ts';
import { canonicalJson } from '../rooms/canonical-json.ts';
import { redactEvent } from '../rooms/redaction.ts';
import { lockRoom } from '../storage/queries/rooms.ts';
import { deleteEvents, expiredEventsAfter, replaceEventJson, roomsWithMaxLifetime } from '../storage/queries/retention.ts';
import { withTransaction } from '../storage/transaction.ts';

export const RETENTION_JOB = 'channels.retention';
export const RETENTION_INTERVAL_MS = 15 * 60 * 1000;
/** Events handled per transaction: the room is locked meanwhile, so sends to it wait this long at most. */
const PURGE_BATCH = 500;

export interface RetentionResult {
  rooms: number;
  deleted: number;
  stubbed: number;
  media: number;
}

/**
 * Message retention (MSC1763): in each room whose `m.room.retention` state
 * sets `max_lifetime`, events sent longer ago than that are purged for good.
 * Message events are deleted (their rows, transaction IDs and state-history
 * links go with them); what the room still needs is kept as its redacted
 * form: state events that are no longer current (state history, so old sync
 * positions still resolve membership), and the room's newest event (the next
 * event's prev_event). Current state is kept whole: it is the room. The
 * media those events referenced in the clear, uploaded by their senders, is
 * deleted too (media inside encrypted events is invisible to the server).
 */
export async function purgeExpiredEvents(app: AppContext, now = Date.now()): Promise<RetentionResult> {
  const result: RetentionResult = { rooms: 0, deleted: 0, stubbed: 0, media: 0 };
  for (const { room_id: roomId, max_lifetime: maxLifetime } of await roomsWithMaxLifetime(app.db)) {
    result.rooms++;
    const purged = await purgeRoomHistoryBefore(app, roomId, now - maxLifetime);
    result.deleted += purged.deleted;
    result.stubbed += purged.stubbed;
    result.media += purged.media;
  }
  return result;
}

/**
 * Purges one room's events sent before `cutoff` (ms since the epoch) as the
 * retention job does: messages deleted, what the room still needs kept as its
 * redacted form, current state whole. Also used when a channel is closed with
 * its history purged.
 */
export async function purgeRoomHistoryBefore(app: AppContext, roomId: string, cutoff: number): Promise<Omit<RetentionResult, 'rooms'>> {
  const result = { deleted: 0, stubbed: 0, media: 0 };
  let after = 0;
  for (;;) {
    const batch = await purgeBatch(app, roomId, cutoff, after);
    result.deleted += batch.deleted;
    result.stubbed += batch.stubbed;
    result.media += (await deleteMediaOfPurgedEvents(app, batch.contents)).length;
    if (batch.last === undefined) break;
    after = batch.last;
  }
  return result;
}

interface BatchOutcome {
  deleted: number;
  stubbed: number;
  /** Sender and original content of every purged event, for the media purge after commit. */
  contents: Array<{ sender: string; content: unknown }>;
  /** The last position looked at, or undefined when there was nothing left. */
  last: number | undefined;
}

async function purgeBatch(app: AppContext, roomId: string, cutoff: number, after: number): Promise<BatchOutcome> {
  return withTransaction(app.db, async (tx) => {
    // Locked like an append, so no event is built on a prev_event being deleted.
    const room = await lockRoom(tx, roomId);
    if (!room) return { deleted: 0, stubbed: 0, contents: [], last: undefined };
    const rows = await expiredEventsAfter(tx, roomId, cutoff, after, PURGE_BATCH);
    const outcome: BatchOutcome = { deleted: 0, stubbed: 0, contents: [], last: rows.at(-1)?.stream_ordering };
    const doomed: string[] = [];
    for (const row of rows) {
      if (row.is_current) continue;
      const isState = row.state_key !== null;
      if (!isState && row.event_id !== room.latest_event_id) {
        doomed.push(row.event_id);
        outcome.contents.push({ sender: row.sender, content: row.json.content });
        continue;
      }
      const stub = redactEvent(row.json, room.room_version);
      if (canonicalJson(stub) === canonicalJson(row.json)) continue;
      await replaceEventJson(tx, row.event_id, stub);
      outcome.contents.push({ sender: row.sender, content: row.json.content });
      outcome.stubbed++;
    }
    await deleteEvents(tx, doomed);
    outcome.deleted = doomed.length;
    return outcome;
  });
}

/** Runs `purgeExpiredEvents` every quarter of an hour (scheduled by `defineJobs`). Logs counts only. */
export async function scheduleRetention(queue: JobQueue, app: AppContext): Promise<void> {
  queue.define<Record<string, never>>({
    name: RETENTION_JOB,
    concurrency: 1,
    async handle() {
      const result = await purgeExpiredEvents(app);
      if (result.deleted + result.stubbed > 0) app.logger.info(result, 'expired events purged');
    },
  });
  await queue.every(RETENTION_JOB, RETENTION_INTERVAL_MS, {});
}
