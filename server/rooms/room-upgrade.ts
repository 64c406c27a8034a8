import { randomBytes } from 'node:crypto';
import type { AppContext } from '../app-context.ts';
import { ErrCode, MatrixError, forbidden, notFound } from '../errors.ts';
import { currentStateEvents, findMembership } from '../storage/queries/room-state.ts';
import { findRoom, insertRoom } from '../storage/queries/rooms.ts';
import { copyChannelPolicy, movePublication, moveRoomAliases } from '../storage/queries/room-upgrade.ts';
import { PREVIEW_URLS_TYPE, RETENTION_TYPE } from '../channels/channel-policy.ts';
import { copyUserStateFromPredecessor, linkParentSpacesToReplacement } from './upgrade-follow-up.ts';
import type { EventRow } from '../storage/tables/rooms.ts';
import { withTransaction } from '../storage/transaction.ts';
import { profileContent } from './membership.ts';
import { appendEvent, finishAppends, lockRoomForAppend, type EventDraft, type LockedRoom } from './persist-event.ts';
import { namedPowerLevel, powerLevelOf, requiredPowerLevel } from './power-levels.ts';
import { isSupportedRoomVersion, roomVersionRules, SUPPORTED_ROOM_VERSIONS } from './room-versions.ts';

/**
 * Spec ("Room upgrades", server behaviour): the state that moves to the
 * replacement room; and the channel policy kept in state (previews,
 * retention), so the new room keeps its policy.
 */
const TRANSFERRED_STATE = [
  'm.room.join_rules',
  'm.room.history_visibility',
  'm.room.guest_access',
  'm.room.name',
  'm.room.topic',
  'm.room.avatar',
  'm.room.encryption',
  'm.room.server_acl',
  'm.room.canonical_alias',
  PREVIEW_URLS_TYPE,
  RETENTION_TYPE,
];
/** State kept under every state key (as Synapse does): a space's children and the room's parent spaces. Emptied (removed) links are not. */
const TRANSFERRED_KEYED_STATE = new Set(['m.space.child', 'm.space.parent']);
/** Spec: the old room's `events_default` and `invite` are raised to at least this (or users_default + 1). */
const RESTRICTED_LEVEL = 50;

/**
 * POST /rooms/{roomId}/upgrade, in one transaction: a tombstone in the old
 * room (so the auth rules decide who may upgrade: the tombstone level), a
 * replacement room whose create event names its `predecessor`, with the old
 * room's transferable state, power levels and bans; local aliases and the
 * directory listing and the channel policy row (allowed bots) move over;
 * the old room's power levels are restricted
 * so ordinary members can no longer talk or invite there. If the upgrader
 * lacks the level for a state event in the new room, their level there is
 * raised for the copy and put back after, as Synapse does. Once committed,
 * the upgrader's tags, DM entry and room push rules follow them (others'
 * follow when they join), and parent spaces that list the old room list
 * the new one where the upgrader may change them.
 */
export async function upgradeRoom(app: AppContext, userId: string, oldRoomId: string, newVersion: string): Promise<string> {
  if (!isSupportedRoomVersion(newVersion)) {
    throw new MatrixError(ErrCode.UNSUPPORTED_ROOM_VERSION, `Room version ${JSON.stringify(newVersion)} is not supported (supported: ${SUPPORTED_ROOM_VERSIONS.join(', ')})`);
  }
  if (!(await findRoom(app.db, oldRoomId))) throw notFound(`Room ${oldRoomId} is not known to this server`);
  if ((await findMembership(app.db, oldRoomId, userId))?.membership !== 'join') throw forbidden(`You are not in room ${oldRoomId}`);
  const newRoomId = `!${randomBytes(12).toString('base64url')}:${app.config.server_name}`;

  await withTransaction(app.db, async (tx, hooks) => {
    const old = await lockRoomForAppend(tx, oldRoomId);
    const predecessor = { room_id: oldRoomId, ...(old.latestEventId ? { event_id: old.latestEventId } : {}) };
    const state = await currentStateEvents(tx, oldRoomId);
    const sendOld = (draft: Omit<EventDraft, 'sender'>) => appendEvent(app, tx, hooks, old, { sender: userId, ...draft });
    await sendOld({ type: 'm.room.tombstone', stateKey: '', content: { body: 'This room has been replaced', replacement_room: newRoomId } });

    await insertRoom(tx, { room_id: newRoomId, room_version: newVersion, creator: userId, created_ts: Date.now(), is_public: false });
    const room: LockedRoom = { roomId: newRoomId, roomVersion: newVersion, latestEventId: null, latestDepth: 0 };
    const send = (draft: Omit<EventDraft, 'sender'>) => appendEvent(app, tx, hooks, room, { sender: userId, ...draft });
    const { creator: _creator, room_version: _version, predecessor: _predecessor, ...creation } = stateRow(state, 'm.room.create')?.json.content ?? {};
    const createContent: Record<string, unknown> = { ...creation, room_version: newVersion, predecessor };
    if (roomVersionRules(newVersion).createHasCreator) createContent.creator = userId;
    await send({ type: 'm.room.create', stateKey: '', content: createContent });
    await send({ type: 'm.room.member', stateKey: userId, content: { membership: 'join', ...(await profileContent(tx, userId)) } });
    // Aliases first, so the copied canonical alias names aliases of the new room.
    await moveRoomAliases(tx, oldRoomId, newRoomId);
    await transferState(userId, state, old.roomVersion, send);
    await movePublication(tx, oldRoomId, newRoomId);
    await copyChannelPolicy(tx, oldRoomId, newRoomId);
    await restrictOldRoom(stateRow(state, 'm.room.power_levels')?.json.content ?? {}, sendOld);
    await finishAppends(tx, old);
    await finishAppends(tx, room);
  });
  // After the upgrade is committed, and best effort: each writes in rooms or account data of its own.
  await copyUserStateFromPredecessor(app, userId, newRoomId);
  await linkParentSpacesToReplacement(app, userId, oldRoomId, newRoomId);
  return newRoomId;
}

type Send = (draft: Omit<EventDraft, 'sender'>) => Promise<unknown>;

function stateRow(state: readonly EventRow[], type: string, stateKey = ''): EventRow | undefined {
  return state.find((row) => row.type === type && row.state_key === stateKey);
}

/** Power levels, the transferable state and bans, into the new room; the upgrader's level raised meanwhile if it must be. */
async function transferState(userId: string, state: readonly EventRow[], oldVersion: string, send: Send): Promise<void> {
  const powerLevels = stateRow(state, 'm.room.power_levels');
  const transferred = [
    ...TRANSFERRED_STATE.map((type) => stateRow(state, type)).filter((row): row is EventRow => row !== undefined),
    ...state.filter((row) => TRANSFERRED_KEYED_STATE.has(row.type) && Object.keys(row.json.content).length > 0),
  ];
  const bans = state.filter((row) => row.type === 'm.room.member' && row.json.content.membership === 'ban' && row.state_key !== userId);
  const levels = powerLevels?.json.content ?? {};
  const needed = Math.max(
    requiredPowerLevel('m.room.power_levels', '', powerLevels?.json),
    ...transferred.map((row) => requiredPowerLevel(row.type, row.state_key ?? '', powerLevels?.json)),
    bans.length > 0 ? namedPowerLevel('ban', powerLevels?.json) : 0,
  );
  const ownLevel = powerLevelOf(userId, powerLevels?.json, stateRow(state, 'm.room.create')?.json, oldVersion);
  const users = typeof levels.users === 'object' && levels.users !== null ? (levels.users as Record<string, unknown>) : {};
  const raised = ownLevel < needed;
  await send({ type: 'm.room.power_levels', stateKey: '', content: raised ? { ...levels, users: { ...users, [userId]: needed } } : levels });
  for (const row of transferred) await send({ type: row.type, stateKey: row.state_key ?? '', content: row.json.content });
  for (const row of bans) {
    const reason = typeof row.json.content.reason === 'string' ? { reason: row.json.content.reason } : {};
    await send({ type: 'm.room.member', stateKey: row.state_key!, content: { membership: 'ban', ...reason } });
  }
  if (raised) await send({ type: 'm.room.power_levels', stateKey: '', content: levels });
}

/**
 * Raise the old room's `events_default` and `invite` so that only moderators
 * speak and invite there. Best effort, as in Synapse: an upgrader who may
 * tombstone but not change power levels still upgrades (the refusal comes
 * from the auth check, before anything is written).
 */
async function restrictOldRoom(levels: Record<string, unknown>, sendOld: Send): Promise<void> {
  const usersDefault = Number.isSafeInteger(levels.users_default) ? (levels.users_default as number) : 0;
  const restricted = Math.max(RESTRICTED_LEVEL, usersDefault + 1);
  const current = (key: string, fallback: number) => (Number.isSafeInteger(levels[key]) ? (levels[key] as number) : fallback);
  if (current('events_default', 0) >= restricted && current('invite', 0) >= restricted) return;
  const content = { ...levels, events_default: Math.max(current('events_default', 0), restricted), invite: Math.max(current('invite', 0), restricted) };
  try {
    await sendOld({ type: 'm.room.power_levels', stateKey: '', content });
  } catch (error) {
    if (!(error instanceof MatrixError && error.errcode === ErrCode.FORBIDDEN)) throw error;
  }
}
