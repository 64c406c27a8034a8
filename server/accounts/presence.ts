import type { AppContext } from '../app-context.ts';
import { forbidden, invalidParam, notFound } from '../errors.ts';
import { findPresence, idleOnlineUsers, lockPresence, shareARoom, touchLastActive, upsertPresence } from '../storage/queries/presence.ts';
import { listJoinedRoomPeers } from '../storage/queries/room-peers.ts';
import { findUser } from '../storage/queries/users.ts';
import type { PresenceRow } from '../storage/tables/user-data.ts';
import { withTransaction } from '../storage/transaction.ts';

export const PRESENCE_STATES = ['online', 'offline', 'unavailable'] as const;
export type PresenceState = (typeof PRESENCE_STATES)[number];

export const MAX_STATUS_MSG_LENGTH = 512;
/** A syncing client's activity is written at most this often (Synapse's LAST_ACTIVE_GRANULARITY). */
export const LAST_ACTIVE_GRANULARITY_MS = 60_000;
/** Online or unavailable with no activity for this long becomes offline (the sweep runs every minute). */
export const IDLE_OFFLINE_AFTER_MS = 5 * 60_000;
const SWEEP_INTERVAL_MS = 60_000;
const SWEEP_BATCH = 500;

export type PresenceContent = { presence: string; last_active_ago?: number; currently_active?: boolean; status_msg?: string };

/** What clients see of a stored presence: `last_active_ago` is relative to now. */
export function presenceContent(row: PresenceRow, now: number): PresenceContent {
  const ago = Math.max(0, now - Number(row.last_active_ts));
  return {
    presence: row.presence,
    last_active_ago: ago,
    ...(row.presence === 'online' ? { currently_active: ago < LAST_ACTIVE_GRANULARITY_MS * 2 } : {}),
    ...(row.status_msg === null ? {} : { status_msg: row.status_msg }),
  };
}

/** PUT /presence/{userId}/status: one's own only. */
export async function setPresence(app: AppContext, callerId: string, userId: string, presence: PresenceState, statusMsg: string | undefined): Promise<void> {
  if (userId !== callerId) throw forbidden('You can only set your own presence');
  if (statusMsg !== undefined && [...statusMsg].length > MAX_STATUS_MSG_LENGTH) throw invalidParam(`status_msg may be at most ${MAX_STATUS_MSG_LENGTH} characters`);
  const now = Date.now();
  await changePresence(app, userId, (current) => ({
    presence,
    status_msg: statusMsg ?? null,
    last_active_ts: presence === 'online' || !current ? now : Number(current.last_active_ts),
  }));
}

/** GET /presence/{userId}/status: oneself, or someone sharing a room with the caller. */
export async function getPresence(app: AppContext, callerId: string, userId: string): Promise<PresenceContent> {
  const user = await findUser(app.db, userId);
  if (!user || user.deactivated) throw notFound(`There is no user ${userId} on this server`);
  if (userId !== callerId && !(await shareARoom(app.db, callerId, userId))) throw forbidden(`You do not share a room with ${userId}`);
  const row = await findPresence(app.db, userId);
  return row ? presenceContent(row, Date.now()) : { presence: 'offline' };
}

/**
 * /sync's `set_presence` (default `online`): a syncing client marks its user
 * online (or unavailable). `offline` leaves presence as it is. Only a change
 * of state is a stream event; otherwise the activity time moves, at most once
 * a minute.
 */
export async function markActiveFromSync(app: AppContext, userId: string, setPresence: PresenceState): Promise<void> {
  if (setPresence === 'offline') return;
  const now = Date.now();
  const current = await findPresence(app.db, userId);
  if (current?.presence === setPresence) {
    if (setPresence === 'online' && now - Number(current.last_active_ts) >= LAST_ACTIVE_GRANULARITY_MS) await touchLastActive(app.db, userId, now);
    return;
  }
  await changePresence(app, userId, (locked) =>
    locked?.presence === setPresence
      ? undefined
      : { presence: setPresence, status_msg: locked?.status_msg ?? null, last_active_ts: setPresence === 'online' || !locked ? now : Number(locked.last_active_ts) },
  );
}

/** Users idle for IDLE_OFFLINE_AFTER_MS go offline; runs every minute in each process (the update re-checks, so several are harmless). */
export function startPresenceSweep(app: AppContext): () => void {
  const sweep = () => sweepIdlePresence(app, Date.now() - IDLE_OFFLINE_AFTER_MS).catch((error: unknown) => app.logger.warn({ err: error }, 'presence sweep failed'));
  const timer = setInterval(sweep, SWEEP_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Marks offline (a stream change, so peers hear of it) every user not offline whose last activity is before `before`. */
export async function sweepIdlePresence(app: AppContext, before: number): Promise<void> {
  for (const userId of await idleOnlineUsers(app.db, before, SWEEP_BATCH)) {
    await changePresence(app, userId, (current) =>
      current && current.presence !== 'offline' && Number(current.last_active_ts) < before ? { presence: 'offline', status_msg: current.status_msg, last_active_ts: Number(current.last_active_ts) } : undefined,
    );
  }
}

type PresenceChange = (current: PresenceRow | undefined) => Omit<PresenceRow, 'user_id' | 'stream_id'> | undefined;

/** One read-modify-write of a user's presence; a change gets a stream position and wakes everyone sharing a room. */
async function changePresence(app: AppContext, userId: string, change: PresenceChange): Promise<void> {
  await withTransaction(app.db, async (tx, hooks) => {
    const next = change(await lockPresence(tx, userId));
    if (!next) return;
    const { position, wake } = await app.presenceStream.allocate(tx, hooks);
    await upsertPresence(tx, { user_id: userId, ...next, stream_id: position });
    wake.add(userId);
    for (const peer of await listJoinedRoomPeers(tx, userId)) wake.add(peer);
  });
}
