import { z } from 'zod';
import { ErrCode, MatrixError, notFound, tooLarge } from '../errors.ts';
import type { Queryable } from '../storage/database.ts';
import { inTransaction } from '../storage/in-transaction.ts';
import {
  bumpBackupEtag,
  countBackupKeys,
  deleteBackupKeys,
  findBackupVersion,
  findLatestBackupVersion,
  listBackupKeys,
  lockBackupsOfUser,
  upsertBackupKeys,
  type NewBackupKey,
} from '../storage/queries/key-backup.ts';
import type { RoomKeyBackupKeyRow } from '../storage/tables/e2ee.ts';
import { findLiveVersion, parseBackupVersion } from './key-backup-versions.ts';

/** Clients upload backups in batches of a few hundred sessions; bound one request. */
export const MAX_BACKUP_SESSIONS_PER_UPLOAD = 10_000;
/** The encrypted session data of one key (a Megolm session export is about 1 KiB). */
export const MAX_SESSION_DATA_BYTES = 64 * 1024;
export const MAX_ROOM_OR_SESSION_ID_LENGTH = 255;

export const KeyBackupData = z.looseObject({
  first_message_index: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  forwarded_count: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  is_verified: z.boolean(),
  session_data: z.record(z.string(), z.unknown()),
});
export type KeyBackupData = z.infer<typeof KeyBackupData>;
const Id = z.string().min(1).max(MAX_ROOM_OR_SESSION_ID_LENGTH);
export const RoomKeyBackup = z.looseObject({ sessions: z.record(Id, KeyBackupData) });
export const RoomsKeyBackup = z.looseObject({ rooms: z.record(Id, RoomKeyBackup) });

export interface BackupScope {
  roomId?: string;
  sessionId?: string;
}

/**
 * PUT /room_keys/keys[/{roomId}[/{sessionId}]]: keys may only be written to
 * the current backup (else 403 `M_WRONG_ROOM_KEYS_VERSION` with
 * `current_version`). A stored key is replaced only by a better one; the etag
 * changes whenever the stored keys do.
 */
export async function storeBackupKeys(
  db: Queryable,
  userId: string,
  version: string,
  rooms: Record<string, Record<string, KeyBackupData>>,
): Promise<{ etag: string; count: number }> {
  const keys: NewBackupKey[] = [];
  for (const [roomId, sessions] of Object.entries(rooms)) {
    for (const [sessionId, data] of Object.entries(sessions)) {
      if (JSON.stringify(data.session_data).length > MAX_SESSION_DATA_BYTES) throw tooLarge(`session_data of ${sessionId} is larger than ${MAX_SESSION_DATA_BYTES} bytes`);
      keys.push({ room_id: roomId, session_id: sessionId, first_message_index: data.first_message_index, forwarded_count: data.forwarded_count, is_verified: data.is_verified, session_data: data.session_data });
    }
  }
  if (keys.length > MAX_BACKUP_SESSIONS_PER_UPLOAD) throw tooLarge(`At most ${MAX_BACKUP_SESSIONS_PER_UPLOAD} sessions per upload`);

  return inTransaction(db, async (tx) => {
    await lockBackupsOfUser(tx, userId);
    const current = await findLatestBackupVersion(tx, userId);
    if (!current) throw notFound('No backup exists; create one with POST /room_keys/version first');
    if (parseBackupVersion(version) !== current.version) {
      throw new MatrixError(ErrCode.WRONG_ROOM_KEYS_VERSION, `Wrong backup version: keys can only be stored in the current backup (${current.version})`, {
        extra: { current_version: String(current.version) },
      });
    }
    const changed = await upsertBackupKeys(tx, userId, current.version, keys);
    if (changed > 0) await bumpBackupEtag(tx, userId, current.version);
    return { etag: String(current.etag + (changed > 0 ? 1 : 0)), count: await countBackupKeys(tx, userId, current.version) };
  });
}

/** GET: the keys of a live backup version, filtered by room and session. */
export async function readBackupKeys(db: Queryable, userId: string, version: string, scope: BackupScope): Promise<RoomKeyBackupKeyRow[]> {
  const row = await findLiveVersion(db, userId, version);
  if (!row) throw notFound('Unknown backup version');
  return listBackupKeys(db, userId, row.version, scope.roomId, scope.sessionId);
}

/** DELETE: removes keys of any live version (not only the current one). */
export async function removeBackupKeys(db: Queryable, userId: string, version: string, scope: BackupScope): Promise<{ etag: string; count: number }> {
  const number = parseBackupVersion(version);
  return inTransaction(db, async (tx) => {
    await lockBackupsOfUser(tx, userId);
    const row = number === null ? undefined : await findBackupVersion(tx, userId, number);
    if (!row || row.deleted) throw notFound('Unknown backup version');
    const deleted = await deleteBackupKeys(tx, userId, row.version, scope.roomId, scope.sessionId);
    if (deleted > 0) await bumpBackupEtag(tx, userId, row.version);
    return { etag: String(row.etag + (deleted > 0 ? 1 : 0)), count: await countBackupKeys(tx, userId, row.version) };
  });
}

export function keyBackupDataJson(row: RoomKeyBackupKeyRow): KeyBackupData {
  return { first_message_index: row.first_message_index, forwarded_count: row.forwarded_count, is_verified: row.is_verified, session_data: row.session_data };
}

/** Groups rows as the spec's `{ rooms: { roomId: { sessions: { sessionId: data } } } }`. */
export function roomsJson(rows: RoomKeyBackupKeyRow[]): Record<string, { sessions: Record<string, KeyBackupData> }> {
  const rooms: Record<string, { sessions: Record<string, KeyBackupData> }> = {};
  for (const row of rows) (rooms[row.room_id] ??= { sessions: {} }).sessions[row.session_id] = keyBackupDataJson(row);
  return rooms;
}
