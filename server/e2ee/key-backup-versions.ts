import { ErrCode, MatrixError, invalidParam, notFound } from '../errors.ts';
import type { Queryable } from '../storage/database.ts';
import { inTransaction } from '../storage/in-transaction.ts';
import {
  countBackupKeys,
  findBackupVersion,
  findLatestBackupVersion,
  insertBackupVersion,
  lockBackupsOfUser,
  markBackupDeleted,
  updateBackupAuthData,
} from '../storage/queries/key-backup.ts';
import type { RoomKeyBackupVersionRow } from '../storage/tables/e2ee.ts';

/** The one backup algorithm the spec defines. */
export const MEGOLM_BACKUP_ALGORITHM = 'm.megolm_backup.v1.curve25519-aes-sha2';
/** `auth_data` is a public key and a few signatures; bound its JSON size. */
export const MAX_AUTH_DATA_BYTES = 64 * 1024;
const MAX_VERSION_DIGITS = 15;

export interface BackupInfo {
  algorithm: string;
  auth_data: Record<string, unknown>;
  count: number;
  etag: string;
  version: string;
}

/** Versions are opaque strings to clients; ours are decimal numbers per user. Anything else names no backup. */
export function parseBackupVersion(version: string): number | null {
  return new RegExp(`^[1-9]\\d{0,${MAX_VERSION_DIGITS - 1}}$`).test(version) ? Number(version) : null;
}

const unknownVersion = () => notFound('Unknown backup version');

function checkAuthData(algorithm: string, authData: Record<string, unknown>): void {
  if (algorithm !== MEGOLM_BACKUP_ALGORITHM) throw invalidParam(`Unsupported backup algorithm ${algorithm}; expected ${MEGOLM_BACKUP_ALGORITHM}`);
  if (typeof authData.public_key !== 'string' || authData.public_key.length === 0) throw invalidParam('auth_data.public_key must be the backup\'s curve25519 public key');
  if (JSON.stringify(authData).length > MAX_AUTH_DATA_BYTES) throw new MatrixError(ErrCode.TOO_LARGE, `auth_data is larger than ${MAX_AUTH_DATA_BYTES} bytes`);
}

/** POST /room_keys/version: a new backup, which becomes the current one. */
export async function createBackupVersion(db: Queryable, userId: string, algorithm: string, authData: Record<string, unknown>, now = Date.now()): Promise<string> {
  checkAuthData(algorithm, authData);
  const version = await inTransaction(db, async (tx) => {
    await lockBackupsOfUser(tx, userId);
    return insertBackupVersion(tx, userId, algorithm, authData, now);
  });
  return String(version);
}

/** GET /room_keys/version[/{version}]: the latest backup, or the named one; 404 when none or deleted. */
export async function getBackupInfo(db: Queryable, userId: string, version?: string): Promise<BackupInfo> {
  const row = await findLiveVersion(db, userId, version);
  if (!row) throw version === undefined ? notFound('No current backup version') : unknownVersion();
  return backupInfo(row, await countBackupKeys(db, userId, row.version));
}

export function backupInfo(row: RoomKeyBackupVersionRow, count: number): BackupInfo {
  return { algorithm: row.algorithm, auth_data: row.auth_data, count, etag: String(row.etag), version: String(row.version) };
}

/** PUT /room_keys/version/{version}: only `auth_data` may change; the algorithm and version must match. */
export async function updateBackupVersion(
  db: Queryable,
  userId: string,
  version: string,
  body: { algorithm: string; auth_data: Record<string, unknown>; version?: string },
): Promise<void> {
  if (body.version !== undefined && body.version !== version) throw invalidParam('version in the body does not match the version in the path');
  const row = await findLiveVersion(db, userId, version);
  if (!row) throw unknownVersion();
  if (body.algorithm !== row.algorithm) throw invalidParam(`Algorithm does not match the backup's (${row.algorithm})`);
  checkAuthData(body.algorithm, body.auth_data);
  await updateBackupAuthData(db, userId, row.version, body.auth_data);
}

/** DELETE /room_keys/version/{version}: removes the backup and its keys; deleting it again succeeds. */
export async function deleteBackupVersion(db: Queryable, userId: string, version: string): Promise<void> {
  const number = parseBackupVersion(version);
  if (number === null) throw unknownVersion();
  await inTransaction(db, async (tx) => {
    await lockBackupsOfUser(tx, userId);
    const row = await findBackupVersion(tx, userId, number);
    if (!row) throw unknownVersion();
    if (!row.deleted) await markBackupDeleted(tx, userId, number);
  });
}

/** The named version (or the latest when none is named), if it exists and is not deleted. */
export async function findLiveVersion(db: Queryable, userId: string, version: string | undefined): Promise<RoomKeyBackupVersionRow | undefined> {
  if (version === undefined) return findLatestBackupVersion(db, userId);
  const number = parseBackupVersion(version);
  if (number === null) return undefined;
  const row = await findBackupVersion(db, userId, number);
  return row && !row.deleted ? row : undefined;
}
