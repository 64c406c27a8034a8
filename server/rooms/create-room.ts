import { randomBytes } from 'node:crypto';
import type { AppContext } from '../app-context.ts';
import { ErrCode, MatrixError, invalidParam } from '../errors.ts';
import type { Tx } from '../storage/database.ts';
import { insertRoom, insertRoomAlias } from '../storage/queries/rooms.ts';
import { withTransaction } from '../storage/transaction.ts';
import { MAX_IDENTIFIER_BYTES } from './identifiers.ts';
import { profileContent, requireInvitableUser } from './membership.ts';
import { appendEvent, finishAppends, type EventDraft, type LockedRoom } from './persist-event.ts';
import { DEFAULT_ROOM_VERSION, isSupportedRoomVersion, roomVersionRules, SUPPORTED_ROOM_VERSIONS } from './room-versions.ts';
import { assertMayClaimAlias } from '../appservices/namespaces.ts';
import type { Registration } from '../appservices/registration.ts';

export type RoomPreset = 'private_chat' | 'trusted_private_chat' | 'public_chat';

/** The body of POST /createRoom, already shape-checked by the handler. */
export interface CreateRoomRequest {
  visibility?: 'public' | 'private';
  room_alias_name?: string;
  name?: string;
  topic?: string;
  invite?: string[];
  room_version?: string;
  creation_content?: Record<string, unknown>;
  initial_state?: Array<{ type: string; state_key?: string; content: Record<string, unknown> }>;
  preset?: RoomPreset;
  is_direct?: boolean;
  power_level_content_override?: Record<string, unknown>;
}

/** Spec table under POST /createRoom: what each preset sets. */
const PRESETS: Record<RoomPreset, { join_rule: string; history_visibility: string; guest_access: string }> = {
  private_chat: { join_rule: 'invite', history_visibility: 'shared', guest_access: 'can_join' },
  trusted_private_chat: { join_rule: 'invite', history_visibility: 'shared', guest_access: 'can_join' },
  public_chat: { join_rule: 'public', history_visibility: 'shared', guest_access: 'forbidden' },
};

/** The creator's level, and the levels of the state that only they should change (as Synapse sets them). */
const CREATOR_LEVEL = 100;
const ADMIN_ONLY_EVENTS = ['m.room.power_levels', 'm.room.history_visibility', 'm.room.tombstone', 'm.room.server_acl', 'm.room.encryption'];
const MODERATOR_EVENTS = ['m.room.name', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.topic'];

/**
 * POST /createRoom: creates the room and sends, in one transaction, the
 * events the spec lists in order. Any refusal leaves no trace of the room.
 */
export async function createRoom(app: AppContext, creator: string, request: CreateRoomRequest, appservice?: Registration): Promise<{ roomId: string; alias?: string }> {
  const roomVersion = request.room_version ?? DEFAULT_ROOM_VERSION;
  if (!isSupportedRoomVersion(roomVersion)) {
    throw new MatrixError(ErrCode.UNSUPPORTED_ROOM_VERSION, `Room version ${JSON.stringify(roomVersion)} is not supported (supported: ${SUPPORTED_ROOM_VERSIONS.join(', ')})`);
  }
  const serverName = app.config.server_name;
  const alias = request.room_alias_name === undefined ? undefined : aliasFor(request.room_alias_name, serverName);
  if (alias) assertMayClaimAlias(app.appservices, alias, appservice);
  const invitees = [...new Set(request.invite ?? [])].filter((userId) => userId !== creator);
  for (const userId of invitees) await requireInvitableUser(app, userId);
  for (const state of request.initial_state ?? []) {
    if (state.type === 'm.room.create' || state.type === 'm.room.member') {
      throw invalidParam(`initial_state may not contain ${state.type}; use creation_content or invite instead`);
    }
  }
  const preset = request.preset ?? (request.visibility === 'public' ? 'public_chat' : 'private_chat');
  const roomId = `!${randomBytes(12).toString('base64url')}:${serverName}`;

  await withTransaction(app.db, async (tx, hooks) => {
    await insertRoom(tx, { room_id: roomId, room_version: roomVersion, creator, created_ts: Date.now(), is_public: request.visibility === 'public' });
    if (alias && !(await insertRoomAlias(tx, { room_alias: alias, room_id: roomId, creator, created_ts: Date.now() }))) {
      throw new MatrixError(ErrCode.ROOM_IN_USE, `The alias ${alias} is already in use`);
    }
    const room: LockedRoom = { roomId, roomVersion, latestEventId: null, latestDepth: 0 };
    const send = (draft: Omit<EventDraft, 'sender'>) => appendEvent(app, tx, hooks, room, { sender: creator, ...draft });
    await sendInitialEvents(tx, { request, roomVersion, creator, preset, alias, invitees, send });
    await finishAppends(tx, room);
  });
  return { roomId, alias };
}

interface InitialEvents {
  request: CreateRoomRequest;
  roomVersion: string;
  creator: string;
  preset: RoomPreset;
  alias: string | undefined;
  invitees: string[];
  send: (draft: Omit<EventDraft, 'sender'>) => Promise<unknown>;
}

async function sendInitialEvents(tx: Tx, input: InitialEvents): Promise<void> {
  const { request, roomVersion, creator, preset, alias, invitees, send } = input;
  const createContent: Record<string, unknown> = { ...request.creation_content, room_version: roomVersion };
  if (roomVersionRules(roomVersion).createHasCreator) createContent.creator = creator;
  else delete createContent.creator;
  await send({ type: 'm.room.create', stateKey: '', content: createContent });
  await send({ type: 'm.room.member', stateKey: creator, content: { membership: 'join', ...(await profileContent(tx, creator)) } });
  await send({ type: 'm.room.power_levels', stateKey: '', content: powerLevels(creator, preset, invitees, request.power_level_content_override) });
  if (alias) await send({ type: 'm.room.canonical_alias', stateKey: '', content: { alias } });

  const initialKeys = new Set((request.initial_state ?? []).map((state) => `${state.type}\u0000${state.state_key ?? ''}`));
  const settings = PRESETS[preset];
  const presetEvents: Array<[string, Record<string, unknown>]> = [
    ['m.room.join_rules', { join_rule: settings.join_rule }],
    ['m.room.history_visibility', { history_visibility: settings.history_visibility }],
    ['m.room.guest_access', { guest_access: settings.guest_access }],
  ];
  for (const [type, content] of presetEvents) {
    if (!initialKeys.has(`${type}\u0000`)) await send({ type, stateKey: '', content });
  }
  for (const state of request.initial_state ?? []) await send({ type: state.type, stateKey: state.state_key ?? '', content: state.content });
  if (request.name !== undefined) await send({ type: 'm.room.name', stateKey: '', content: { name: request.name } });
  // The plain topic is also given in its rich form (m.topic), as clients now read it.
  if (request.topic !== undefined) {
    await send({ type: 'm.room.topic', stateKey: '', content: { topic: request.topic, 'm.topic': { 'm.text': [{ body: request.topic, mimetype: 'text/plain' }] } } });
  }
  for (const userId of invitees) {
    const content = { membership: 'invite', ...(await profileContent(tx, userId)), ...(request.is_direct ? { is_direct: true } : {}) };
    await send({ type: 'm.room.member', stateKey: userId, content });
  }
}

/** Default power levels (the creator alone administers), `trusted_private_chat` invitees as admins, then the override on top. */
function powerLevels(creator: string, preset: RoomPreset, invitees: string[], override: Record<string, unknown> | undefined): Record<string, unknown> {
  const users: Record<string, number> = { [creator]: CREATOR_LEVEL };
  if (preset === 'trusted_private_chat') for (const userId of invitees) users[userId] = CREATOR_LEVEL;
  const events: Record<string, number> = {};
  for (const type of ADMIN_ONLY_EVENTS) events[type] = CREATOR_LEVEL;
  for (const type of MODERATOR_EVENTS) events[type] = 50;
  const defaults: Record<string, unknown> = {
    users,
    users_default: 0,
    events,
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: 0,
    notifications: { room: 50 },
  };
  return { ...defaults, ...override };
}

/** `#localpart:server`; the localpart may not contain `:` or whitespace, and the alias is at most 255 bytes. */
function aliasFor(localpart: string, serverName: string): string {
  if (localpart === '' || /[:\s#]/.test(localpart)) {
    throw invalidParam(`room_alias_name ${JSON.stringify(localpart)} must be a non-empty local part without ':', '#' or whitespace`);
  }
  const alias = `#${localpart}:${serverName}`;
  if (Buffer.byteLength(alias) > MAX_IDENTIFIER_BYTES) throw invalidParam(`The alias ${alias} is longer than ${MAX_IDENTIFIER_BYTES} bytes`);
  return alias;
}
