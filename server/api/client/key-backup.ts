import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { notFound } from '../../errors.ts';
import { route } from '../../http/route.ts';
import { createBackupVersion, deleteBackupVersion, getBackupInfo, updateBackupVersion } from '../../e2ee/key-backup-versions.ts';
import {
  KeyBackupData,
  MAX_ROOM_OR_SESSION_ID_LENGTH,
  keyBackupDataJson,
  readBackupKeys,
  removeBackupKeys,
  roomsJson,
  RoomKeyBackup,
  RoomsKeyBackup,
  storeBackupKeys,
} from '../../e2ee/key-backup-keys.ts';

/** A batch of several thousand backed-up sessions. */
const MAX_BACKUP_UPLOAD_BYTES = 16 * 1024 * 1024;
const V3 = '/_matrix/client/v3/room_keys';

const VersionParams = z.object({ version: z.string().min(1).max(32) });
const VersionQuery = z.object({ version: z.string().min(1).max(32) });
const Id = z.string().min(1).max(MAX_ROOM_OR_SESSION_ID_LENGTH);
const RoomParams = z.object({ roomId: Id });
const SessionParams = z.object({ roomId: Id, sessionId: Id });
const BackupBody = z.looseObject({ algorithm: z.string().max(255), auth_data: z.record(z.string(), z.unknown()) });
const BackupUpdateBody = BackupBody.extend({ version: z.string().max(32).optional() });

export function mountKeyBackup(router: Router, app: AppContext): void {
  /** POST /room_keys/version — creates a backup, which becomes the current one. */
  route(router, app, { method: 'POST', path: `${V3}/version`, auth: 'user', body: BackupBody }, async ({ app, caller, body }) => ({
    version: await createBackupVersion(app.db, caller.userId, body.algorithm, body.auth_data),
  }));

  /** GET /room_keys/version — the latest backup (404 when none). */
  route(router, app, { method: 'GET', path: `${V3}/version`, auth: 'user' }, async ({ app, caller }) => getBackupInfo(app.db, caller.userId));

  /** GET /room_keys/version/{version} */
  route(router, app, { method: 'GET', path: `${V3}/version/:version`, auth: 'user', params: VersionParams }, async ({ app, caller, params }) =>
    getBackupInfo(app.db, caller.userId, params.version),
  );

  /** PUT /room_keys/version/{version} — only auth_data changes. */
  route(router, app, { method: 'PUT', path: `${V3}/version/:version`, auth: 'user', params: VersionParams, body: BackupUpdateBody }, async ({ app, caller, params, body }) => {
    await updateBackupVersion(app.db, caller.userId, params.version, body);
    return {};
  });

  /** DELETE /room_keys/version/{version} — the backup and its keys; repeating it succeeds. */
  route(router, app, { method: 'DELETE', path: `${V3}/version/:version`, auth: 'user', params: VersionParams }, async ({ app, caller, params }) => {
    await deleteBackupVersion(app.db, caller.userId, params.version);
    return {};
  });

  const upload = { method: 'PUT' as const, auth: 'user' as const, query: VersionQuery, maxBodyBytes: MAX_BACKUP_UPLOAD_BYTES };

  /** PUT /room_keys/keys?version — many rooms; only into the current backup (else M_WRONG_ROOM_KEYS_VERSION). */
  route(router, app, { ...upload, path: `${V3}/keys`, body: RoomsKeyBackup }, async ({ app, caller, query, body }) =>
    storeBackupKeys(app.db, caller.userId, query.version, Object.fromEntries(Object.entries(body.rooms).map(([roomId, room]) => [roomId, room.sessions]))),
  );
  /** PUT /room_keys/keys/{roomId}?version */
  route(router, app, { ...upload, path: `${V3}/keys/:roomId`, params: RoomParams, body: RoomKeyBackup }, async ({ app, caller, params, query, body }) =>
    storeBackupKeys(app.db, caller.userId, query.version, { [params.roomId]: body.sessions }),
  );
  /** PUT /room_keys/keys/{roomId}/{sessionId}?version */
  route(router, app, { ...upload, path: `${V3}/keys/:roomId/:sessionId`, params: SessionParams, body: KeyBackupData }, async ({ app, caller, params, query, body }) =>
    storeBackupKeys(app.db, caller.userId, query.version, { [params.roomId]: { [params.sessionId]: body } }),
  );

  /** GET /room_keys/keys?version — `{ rooms: {} }` when empty. */
  route(router, app, { method: 'GET', path: `${V3}/keys`, auth: 'user', query: VersionQuery }, async ({ app, caller, query }) => ({
    rooms: roomsJson(await readBackupKeys(app.db, caller.userId, query.version, {})),
  }));
  /** GET /room_keys/keys/{roomId}?version — `{ sessions: {} }` when empty. */
  route(router, app, { method: 'GET', path: `${V3}/keys/:roomId`, auth: 'user', params: RoomParams, query: VersionQuery }, async ({ app, caller, params, query }) => ({
    sessions: roomsJson(await readBackupKeys(app.db, caller.userId, query.version, { roomId: params.roomId }))[params.roomId]?.sessions ?? {},
  }));
  /** GET /room_keys/keys/{roomId}/{sessionId}?version — 404 when that session has no key. */
  route(router, app, { method: 'GET', path: `${V3}/keys/:roomId/:sessionId`, auth: 'user', params: SessionParams, query: VersionQuery }, async ({ app, caller, params, query }) => {
    const [row] = await readBackupKeys(app.db, caller.userId, query.version, params);
    if (!row) throw notFound('No key for this session in the backup');
    return keyBackupDataJson(row);
  });

  /** DELETE /room_keys/keys[/{roomId}[/{sessionId}]]?version — returns the new etag and count. */
  route(router, app, { method: 'DELETE', path: `${V3}/keys`, auth: 'user', query: VersionQuery }, async ({ app, caller, query }) =>
    removeBackupKeys(app.db, caller.userId, query.version, {}),
  );
  route(router, app, { method: 'DELETE', path: `${V3}/keys/:roomId`, auth: 'user', params: RoomParams, query: VersionQuery }, async ({ app, caller, params, query }) =>
    removeBackupKeys(app.db, caller.userId, query.version, params),
  );
  route(router, app, { method: 'DELETE', path: `${V3}/keys/:roomId/:sessionId`, auth: 'user', params: SessionParams, query: VersionQuery }, async ({ app, caller, params, query }) =>
    removeBackupKeys(app.db, caller.userId, query.version, params),
  );
}
