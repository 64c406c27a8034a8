import type { AppContext } from '../app-context.ts';
import { ErrCode, MatrixError, forbidden, invalidParam, notFound, tooLarge } from '../errors.ts';
import type { Queryable, Tx } from '../storage/database.ts';
import { findAccountData, GLOBAL_ROOM, upsertAccountData } from '../storage/queries/account-data.ts';
import { withTransaction, type TxHooks } from '../storage/transaction.ts';
import { sql } from 'kysely';

/** Largest content of one account data type, as JSON (m.direct of a busy account stays well below). */
export const MAX_ACCOUNT_DATA_BYTES = 256 * 1024;
/** Most account data types one user may keep (global and per-room together), so storage stays bounded. */
export const MAX_ACCOUNT_DATA_ENTRIES = 2_000;

/** Types only the server writes (spec: 405 M_BAD_JSON); clients use their own endpoints for these. */
const SERVER_CONTROLLED_GLOBAL = new Set(['m.push_rules']);
const SERVER_CONTROLLED_ROOM = new Set(['m.fully_read']);

export const IGNORED_USER_LIST = 'm.ignored_user_list';

export interface AccountDataKey {
  userId: string;
  /** Undefined for global account data. */
  roomId: string | undefined;
  type: string;
}

/**
 * PUT /user/{userId}/account_data/{type} and its per-room twin: only one's own
 * data, not the types the server controls, within the size limits. The
 * user's other devices see it in their next sync.
 */
export async function setAccountData(app: AppContext, callerId: string, key: AccountDataKey, content: Record<string, unknown>): Promise<void> {
  if (key.userId !== callerId) throw forbidden('You can only set your own account data');
  const controlled = key.roomId === undefined ? SERVER_CONTROLLED_GLOBAL : SERVER_CONTROLLED_ROOM;
  if (controlled.has(key.type)) throw new MatrixError(ErrCode.BAD_JSON, `${key.type} is controlled by the server and cannot be set through this API`, { status: 405 });
  if (key.type === IGNORED_USER_LIST) checkIgnoredUserList(callerId, content);
  const size = Buffer.byteLength(JSON.stringify(content));
  if (size > MAX_ACCOUNT_DATA_BYTES) throw tooLarge(`Account data may be at most ${MAX_ACCOUNT_DATA_BYTES} bytes; this is ${size}`);
  await withTransaction(app.db, (tx, hooks) => writeAccountData(app, tx, hooks, key, content));
}

/** Stores one entry and wakes the user's syncs; for server-side writers too (m.fully_read). */
export async function writeAccountData(app: AppContext, tx: Tx, hooks: TxHooks, key: AccountDataKey, content: Record<string, unknown>): Promise<void> {
  const roomId = key.roomId ?? GLOBAL_ROOM;
  // Serialise one user's writes, so the entry cap cannot be passed by concurrent requests.
  await sql`SELECT pg_advisory_xact_lock(hashtext('account_data'), hashtext(${key.userId}))`.execute(tx);
  const existing = await findAccountData(tx, key.userId, roomId, key.type);
  if (existing === undefined) {
    const { count } = await tx.selectFrom('account_data').select((eb) => eb.fn.countAll<string>().as('count')).where('user_id', '=', key.userId).executeTakeFirstOrThrow();
    if (Number(count) >= MAX_ACCOUNT_DATA_ENTRIES) throw tooLarge(`You already have ${MAX_ACCOUNT_DATA_ENTRIES} account data entries, the most this server keeps`);
  }
  const { position, wake } = await app.accountDataStream.allocate(tx, hooks);
  await upsertAccountData(tx, { user_id: key.userId, room_id: roomId, type: key.type, content, stream_id: position });
  wake.add(key.userId);
}

/** GET: one's own data only; 404 when the type was never set. */
export async function getAccountData(app: AppContext, callerId: string, key: AccountDataKey): Promise<Record<string, unknown>> {
  if (key.userId !== callerId) throw forbidden('You can only read your own account data');
  const content = await findAccountData(app.db, key.userId, key.roomId ?? GLOBAL_ROOM, key.type);
  if (content === undefined) throw notFound(`No account data of type ${key.type}`);
  return content;
}

/** The users `userId` ignores (m.ignored_user_list): their events are left out of timelines, their invites dropped. */
export async function ignoredUsersOf(db: Queryable, userId: string): Promise<ReadonlySet<string>> {
  return ignoredUsersFrom(await findAccountData(db, userId, GLOBAL_ROOM, IGNORED_USER_LIST));
}

/** The users named in stored `m.ignored_user_list` content (undefined or null: none stored). */
export function ignoredUsersFrom(content: Record<string, unknown> | null | undefined): ReadonlySet<string> {
  const ignored = content?.ignored_users;
  if (!ignored || typeof ignored !== 'object' || Array.isArray(ignored)) return new Set();
  return new Set(Object.keys(ignored));
}

/** Spec: `ignored_users` maps user IDs to empty objects. Ignoring oneself makes no sense and is refused. */
function checkIgnoredUserList(userId: string, content: Record<string, unknown>): void {
  const ignored = content.ignored_users;
  if (ignored === undefined) return;
  if (!ignored || typeof ignored !== 'object' || Array.isArray(ignored)) throw new MatrixError(ErrCode.BAD_JSON, 'ignored_users must be an object keyed by user ID');
  for (const ignoredId of Object.keys(ignored)) {
    if (!/^@[^:]+:.+$/.test(ignoredId)) throw new MatrixError(ErrCode.BAD_JSON, `ignored_users: ${JSON.stringify(ignoredId.slice(0, 64))} is not a user ID`);
    if (ignoredId === userId) throw invalidParam('You cannot ignore yourself');
  }
}
