import type { AppContext } from '../app-context.ts';
import { ErrCode, MatrixError } from '../errors.ts';
import { findMedia } from '../storage/queries/media.ts';
import { deleteMedia } from './quarantine.ts';

/** `mxc://<serverName>/<mediaId>`; anything else is not a media reference. */
const MXC_URI = /^mxc:\/\/([^/?#]+)\/([A-Za-z0-9_-]{1,255})$/;
/** A purge names at most this many URIs per call (callers batch). */
export const MAX_PURGE_URIS = 1000;

/**
 * The mxc URIs an event's content points at, in the places the spec puts
 * them: `url` (m.image, m.file, m.audio, m.video, stickers, m.room.avatar),
 * `info.thumbnail_url`, `avatar_url` (m.room.member), and `file.url` /
 * `info.thumbnail_file.url` of attachments sent in the clear. Encrypted
 * events hide theirs inside the ciphertext, so nothing is found there.
 */
export function mxcUrisOfContent(content: unknown): string[] {
  if (typeof content !== 'object' || content === null) return [];
  const c = content as Record<string, any>;
  const candidates = [c.url, c.avatar_url, c.info?.thumbnail_url, c.file?.url, c.info?.thumbnail_file?.url];
  return [...new Set(candidates.filter((value): value is string => typeof value === 'string' && MXC_URI.test(value)))];
}

/** The media ID of a local `mxc://` URI, or undefined for a remote or malformed one. */
export function localMediaIdOfMxc(serverName: string, uri: string): string | undefined {
  const match = MXC_URI.exec(uri);
  return match && match[1] === serverName ? match[2] : undefined;
}

export interface PurgeOptions {
  /**
   * Delete only media this user uploaded (the purged event's sender): an
   * event can name anyone's mxc URI, and purging it must not delete media
   * that someone else uploaded and may still use elsewhere.
   */
  uploadedBy?: string;
  /** Who asks, for the log line (e.g. `retention`). */
  by: string;
}

/**
 * Deletes the local media behind `mxcUris` (retention calls this for the
 * events it purges). Remote, malformed, unknown and already deleted URIs are
 * skipped; the bytes go once no other media ID shares them. Returns the
 * media IDs deleted.
 */
export async function deleteMediaByMxcUris(app: AppContext, mxcUris: readonly string[], options: PurgeOptions): Promise<string[]> {
  if (mxcUris.length > MAX_PURGE_URIS) throw new Error(`deleteMediaByMxcUris: at most ${MAX_PURGE_URIS} URIs per call`);
  const deleted: string[] = [];
  for (const uri of new Set(mxcUris)) {
    const mediaId = localMediaIdOfMxc(app.config.server_name, uri);
    if (mediaId === undefined) continue;
    const row = await findMedia(app.db, mediaId);
    if (!row || (options.uploadedBy !== undefined && row.user_id !== options.uploadedBy)) continue;
    try {
      await deleteMedia(app, mediaId, options.by);
      deleted.push(mediaId);
    } catch (error) {
      // Deleted meanwhile by someone else: the outcome we wanted.
      if (!(error instanceof MatrixError && error.errcode === ErrCode.NOT_FOUND)) throw error;
    }
  }
  return deleted;
}

/** Retention's one call: the media of purged events, each deleted only if its sender uploaded it. */
export async function deleteMediaOfPurgedEvents(app: AppContext, events: ReadonlyArray<{ sender: string; content: unknown }>): Promise<string[]> {
  const deleted: string[] = [];
  for (const event of events) {
    deleted.push(...(await deleteMediaByMxcUris(app, mxcUrisOfContent(event.content), { uploadedBy: event.sender, by: 'retention' })));
  }
  return deleted;
}
