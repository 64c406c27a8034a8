import type { AppContext } from '../app-context.ts';
import { notFound } from '../errors.ts';
import { findRoom } from '../storage/queries/rooms.ts';
import { quarantineMediaIds, roomEventContentsPage } from '../storage/queries/media.ts';
import { localMediaIdOfMxc, mxcUrisOfContent } from './purge.ts';

/** Events read per query while scanning a room. */
const SCAN_PAGE = 500;

/**
 * Quarantines every local media ID that an event of the room points at
 * (Synapse's room quarantine). Encrypted events hide their URIs, so only
 * media named in the clear is found. Returns how many IDs were newly marked.
 */
export async function quarantineRoomMedia(app: AppContext, roomId: string, byUserId: string): Promise<number> {
  if (!(await findRoom(app.db, roomId))) throw notFound('Unknown room');
  let after = -1;
  let marked = 0;
  for (;;) {
    const page = await roomEventContentsPage(app.db, roomId, after, SCAN_PAGE);
    if (page.length === 0) break;
    after = page[page.length - 1].stream_ordering;
    const ids = new Set<string>();
    for (const event of page) {
      for (const uri of mxcUrisOfContent(event.content)) {
        const mediaId = localMediaIdOfMxc(app.config.server_name, uri);
        if (mediaId) ids.add(mediaId);
      }
    }
    marked += await quarantineMediaIds(app.db, [...ids], byUserId);
  }
  app.logger.info({ roomId, by: byUserId, quarantined: marked }, 'room media quarantined');
  return marked;
}
