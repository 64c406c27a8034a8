import { sql } from 'kysely';
import type { AppContext } from '../app-context.ts';
import { forbidden, tooLarge } from '../errors.ts';
import { findAccountData } from '../storage/queries/account-data.ts';
import { withTransaction } from '../storage/transaction.ts';
import { writeAccountData } from './account-data.ts';

/** Synapse's limit on a tag's name; and how many tags one room may carry for one user. */
export const MAX_TAG_BYTES = 255;
export const MAX_TAGS_PER_ROOM = 100;

export type Tags = Record<string, { order?: number } & Record<string, unknown>>;

/**
 * Room tags (`m.favourite`, `m.lowpriority`, `u.*`) are the `m.tag` room
 * account data: these endpoints read and edit it one tag at a time, and the
 * change reaches the user's devices through the account-data stream.
 */
export async function roomTags(app: AppContext, callerId: string, userId: string, roomId: string): Promise<{ tags: Tags }> {
  if (userId !== callerId) throw forbidden('You can only read your own room tags');
  return { tags: tagsOf(await findAccountData(app.db, userId, roomId, 'm.tag')) };
}

export async function setRoomTag(app: AppContext, callerId: string, userId: string, roomId: string, tag: string, content: Record<string, unknown> | undefined): Promise<void> {
  if (userId !== callerId) throw forbidden('You can only tag rooms for yourself');
  if (Buffer.byteLength(tag) > MAX_TAG_BYTES) throw tooLarge(`A tag may be at most ${MAX_TAG_BYTES} bytes`);
  await withTransaction(app.db, async (tx, hooks) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext('account_data'), hashtext(${userId}))`.execute(tx);
    const tags = tagsOf(await findAccountData(tx, userId, roomId, 'm.tag'));
    if (content === undefined) {
      if (!(tag in tags)) return;
      delete tags[tag];
    } else {
      if (!(tag in tags) && Object.keys(tags).length >= MAX_TAGS_PER_ROOM) throw tooLarge(`A room may carry at most ${MAX_TAGS_PER_ROOM} tags`);
      tags[tag] = content;
    }
    await writeAccountData(app, tx, hooks, { userId, roomId, type: 'm.tag' }, { tags });
  });
}

function tagsOf(content: Record<string, unknown> | undefined): Tags {
  const tags = content?.tags;
  return tags && typeof tags === 'object' && !Array.isArray(tags) ? { ...(tags as Tags) } : {};
}
