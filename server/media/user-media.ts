import type { AppContext } from '../app-context.ts';
import { ErrCode, MatrixError, notFound } from '../errors.ts';
import { findUser } from '../storage/queries/users.ts';
import { listUserMedia, userMediaIds } from '../storage/queries/media.ts';
import { deleteMedia } from './quarantine.ts';

/** One entry of Synapse's `GET /_synapse/admin/v1/users/{userId}/media`. */
export interface UserMediaEntry {
  media_id: string;
  media_type: string | null;
  media_length: number | null;
  upload_name: string | null;
  created_ts: number;
  quarantined_by: string | null;
  safe_from_quarantine: boolean;
}

async function requireLocalUser(app: AppContext, userId: string): Promise<void> {
  if (!userId.endsWith(`:${app.config.server_name}`)) throw new MatrixError(ErrCode.INVALID_PARAM, 'Can only look up local users');
  if (!(await findUser(app.db, userId))) throw notFound('Unknown user');
}

/** The media a user uploaded, oldest first, `limit` from offset `from`; `next_token` when there is more. */
export async function listMediaOfUser(app: AppContext, userId: string, from: number, limit: number): Promise<{ media: UserMediaEntry[]; total: number; next_token?: number }> {
  await requireLocalUser(app, userId);
  const { rows, total } = await listUserMedia(app.db, userId, from, limit);
  const media = rows.map((row) => ({
    media_id: row.media_id,
    media_type: row.content_type,
    media_length: row.size === null ? null : Number(row.size),
    upload_name: row.upload_name,
    created_ts: Number(row.created_ts),
    quarantined_by: row.quarantined_by,
    safe_from_quarantine: false,
  }));
  return from + rows.length < total ? { media, total, next_token: from + rows.length } : { media, total };
}

/** Deletes every media ID the user uploaded (spam clean-up); returns the IDs deleted. */
export async function deleteMediaOfUser(app: AppContext, userId: string, byUserId: string): Promise<string[]> {
  await requireLocalUser(app, userId);
  const deleted: string[] = [];
  for (const mediaId of await userMediaIds(app.db, userId)) {
    try {
      await deleteMedia(app, mediaId, byUserId);
      deleted.push(mediaId);
    } catch (error) {
      if (!(error instanceof MatrixError && error.errcode === ErrCode.NOT_FOUND)) throw error;
    }
  }
  return deleted;
}
