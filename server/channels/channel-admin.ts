import type { AppContext } from '../app-context.ts';
import { forbidden, invalidParam } from '../errors.ts';
import { canonicalJson } from '../rooms/canonical-json.ts';
import { createRoom } from '../rooms/create-room.ts';
import { appendEvent, finishAppends, lockRoomForAppend } from '../rooms/persist-event.ts';
import type { Queryable } from '../storage/database.ts';
import { withTransaction } from '../storage/transaction.ts';
import { currentStateEvents } from '../storage/queries/room-state.ts';
import { findRoom, setRoomPublic } from '../storage/queries/rooms.ts';
import { findChannelPolicy, insertChannelAudit, membersWith, upsertChannelPolicy } from '../storage/queries/channels.ts';
import type { RoomRow } from '../storage/tables/rooms.ts';
import { botsOutside, botsWithoutEncryption } from './bot-admission.ts';
import { requireChannelRole, type ChannelActor } from './channel-access.ts';
import { ChannelPolicySchema, DEFAULT_CHANNEL_POLICY, effectivePolicy, policyStateContents, POLICY_STATE_TYPES, PREVIEW_URLS_TYPE, RETENTION_TYPE, type ChannelPolicy } from './channel-policy.ts';

export interface NewChannel {
  name?: string;
  topic?: string;
  alias_localpart?: string;
  policy?: Partial<ChannelPolicy>;
}

/**
 * Only channel admins (level 100) change what the policy publishes, whether
 * through this API or through Matrix: moderators keep names and topics.
 */
const CHANNEL_POWER_EVENTS: Record<string, number> = {
  'm.room.power_levels': 100,
  'm.room.history_visibility': 100,
  'm.room.tombstone': 100,
  'm.room.server_acl': 100,
  'm.room.encryption': 100,
  'm.room.join_rules': 100,
  [PREVIEW_URLS_TYPE]: 100,
  [RETENTION_TYPE]: 100,
  'm.room.name': 50,
  'm.room.avatar': 50,
  'm.room.canonical_alias': 50,
  'm.room.topic': 50,
};

/** Creates a channel with its policy published as initial state; the caller (a server admin) is its first channel admin. */
export async function createChannel(app: AppContext, actor: ChannelActor, input: NewChannel): Promise<{ room_id: string; policy: ChannelPolicy }> {
  const policy = ChannelPolicySchema.parse({ ...DEFAULT_CHANNEL_POLICY, ...input.policy });
  assertKnownBots(app, policy.allowed_bots);
  const initialState = [...policyStateContents(policy)]
    .filter(([type, content]) => type !== RETENTION_TYPE || Object.keys(content).length > 0)
    .map(([type, content]) => ({ type, state_key: '', content }));
  const { roomId } = await createRoom(app, actor.userId, {
    name: input.name,
    topic: input.topic,
    room_alias_name: input.alias_localpart,
    preset: policy.joining === 'open' ? 'public_chat' : 'private_chat',
    visibility: policy.visibility,
    initial_state: initialState,
    power_level_content_override: { events: CHANNEL_POWER_EVENTS },
  });
  await upsertChannelPolicy(app.db, { room_id: roomId, allowed_bots: policy.allowed_bots, updated_ts: Date.now() });
  await audit(app, actor, roomId, 'channel.create', null, policy);
  return { room_id: roomId, policy };
}

/** The channel's summary and policy, for its admins. */
export async function readChannel(app: AppContext, actor: ChannelActor, roomId: string) {
  const { room } = await requireChannelRole(app, actor, roomId, 'admin');
  const state = await currentStateEvents(app.db, roomId);
  const content = (type: string) => state.find((row) => row.type === type && row.state_key === '')?.json.content;
  return {
    room_id: roomId,
    room_version: room.room_version,
    creator: room.creator,
    name: stringOr(content('m.room.name')?.name),
    topic: stringOr(content('m.room.topic')?.topic),
    canonical_alias: stringOr(content('m.room.canonical_alias')?.alias),
    joined_members: (await membersWith(app.db, roomId, ['join'])).length,
    policy: await policyOf(app, room),
  };
}

export async function policyOf(app: AppContext, room: RoomRow): Promise<ChannelPolicy> {
  return policyIn(app.db, room);
}

async function policyIn(db: Queryable, room: RoomRow): Promise<ChannelPolicy> {
  const state = (await currentStateEvents(db, room.room_id, policyStatePairs())).map((row) => row.json);
  return effectivePolicy(await findChannelPolicy(db, room.room_id), state, room.is_public);
}

/**
 * Changes the policy, all or nothing, in one transaction with the room locked
 * as for any append: everything that could refuse it is checked first, then
 * each changed state event is appended through the event path (so the room's
 * own rules apply and clients see it), then the directory flag, the row and
 * the audit entry. A refusal of any event (the room's rules, bot admission)
 * rolls back every one before it. Returns the policy now in force.
 */
export async function changeChannelPolicy(app: AppContext, actor: ChannelActor, roomId: string, patch: Partial<ChannelPolicy>, action = 'policy.change'): Promise<ChannelPolicy> {
  const { sender } = await requireChannelRole(app, actor, roomId, 'admin');
  return withTransaction(app.db, async (tx, hooks) => {
    const locked = await lockRoomForAppend(tx, roomId);
    const room = (await findRoom(tx, roomId))!;
    const before = await policyIn(tx, room);
    const next = ChannelPolicySchema.parse({ ...before, ...patch });
    if (before.encryption === 'required' && next.encryption === 'off') {
      throw forbidden('This channel requires end-to-end encryption, and encryption can never be switched off once on');
    }
    assertKnownBots(app, next.allowed_bots);
    if (next.encryption === 'required' && before.encryption === 'off') {
      const bots = await botsWithoutEncryption(app, tx, roomId);
      if (bots.length) throw forbidden(`Encryption cannot be turned on while bots without encryption support are in the channel: ${bots.join(', ')}; remove them first`);
    }
    if (next.allowed_bots) {
      const outside = await botsOutside(app, tx, roomId, next.allowed_bots);
      if (outside.length) throw forbidden(`The channel's bot policy would exclude bots still in the channel: ${outside.join(', ')}; remove them first`);
    }

    const current = new Map((await currentStateEvents(tx, roomId, policyStatePairs())).map((row) => [row.type, row.json.content]));
    for (const [type, content] of policyStateContents(next)) {
      const existing = current.get(type);
      // Absent retention already means "forever"; anything else absent is published so clients see it.
      if (existing === undefined && type === RETENTION_TYPE && Object.keys(content).length === 0) continue;
      if (existing !== undefined && canonicalJson(existing) === canonicalJson(content)) continue;
      // State whose policy field did not change is left alone, with whatever else it says (a join rule
      // restricted to a space reads as `invite`; an encryption rotation period; MSC1763's min_lifetime).
      if (existing !== undefined && before[POLICY_FIELD_OF[type]] === next[POLICY_FIELD_OF[type]]) continue;
      await appendEvent(app, tx, hooks, locked, { sender, type, stateKey: '', content });
    }
    await finishAppends(tx, locked);
    if (next.visibility !== before.visibility) await setRoomPublic(tx, roomId, next.visibility === 'public');
    await upsertChannelPolicy(tx, { room_id: roomId, allowed_bots: next.allowed_bots, updated_ts: Date.now() });
    const after = await policyIn(tx, (await findRoom(tx, roomId))!);
    await insertChannelAudit(tx, { room_id: roomId, actor: actor.userId, action, before, after, created_ts: Date.now() });
    return after;
  });
}

export async function audit(app: AppContext, actor: ChannelActor, roomId: string, action: string, before: unknown, after: unknown): Promise<void> {
  await insertChannelAudit(app.db, { room_id: roomId, actor: actor.userId, action, before, after, created_ts: Date.now() });
}

/** An allowed-bots list names registered appservices only: a typo would otherwise silently lock a bot out. */
function assertKnownBots(app: AppContext, allowed: readonly string[] | null): void {
  const unknown = (allowed ?? []).filter((id) => !app.appservices.byId(id));
  if (unknown.length) throw invalidParam(`allowed_bots names appservices that are not registered: ${unknown.join(', ')}`);
}

/** The policy field each published state type carries. */
const POLICY_FIELD_OF: Record<string, keyof ChannelPolicy> = {
  'm.room.join_rules': 'joining',
  'm.room.encryption': 'encryption',
  [PREVIEW_URLS_TYPE]: 'link_previews',
  [RETENTION_TYPE]: 'retention_max_age_ms',
};

function policyStatePairs() {
  return POLICY_STATE_TYPES.map((type) => ({ type, state_key: '' }));
}

function stringOr(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
