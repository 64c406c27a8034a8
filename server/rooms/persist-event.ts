import type { AppContext } from '../app-context.ts';
import { forbidden, MatrixError, ErrCode, notFound, tooLarge } from '../errors.ts';
import type { Tx } from '../storage/database.ts';
import { findEvent, findTxnEvent, insertEvent, insertTxn, markRedacted } from '../storage/queries/events.ts';
import { joinedMembers, currentStateEvents, recordMembership, recordStateEvent } from '../storage/queries/room-state.ts';
import { lockRoom, setLatestEvent } from '../storage/queries/rooms.ts';
import { withTransaction, type TxHooks } from '../storage/transaction.ts';
import { authStateKeysFor, checkEventAuth, selectAuthEvents } from './auth-rules.ts';
import { buildEvent } from './build-event.ts';
import { CanonicalJsonError, canonicalJson } from './canonical-json.ts';
import { splitStateKey, stateMapOf, type PersistentEvent, type StateMap } from './event.ts';
import { powerLevelsContentProblem } from './power-levels.ts';
import { checkRedactionTarget } from './redaction-auth.ts';
import { roomVersionRules } from './room-versions.ts';
import { redactEvent } from './redaction.ts';

/** Spec: an event, as canonical JSON with signatures, is at most 65536 bytes. */
export const MAX_EVENT_BYTES = 65_536;

/** What a local user asks to send; the server fills in everything else. */
export interface EventDraft {
  sender: string;
  type: string;
  stateKey?: string;
  content: Record<string, unknown>;
  redacts?: string;
  /** origin_server_ts chosen by an appservice (timestamp massaging); otherwise now. */
  originServerTs?: number;
  /** Idempotency: the same (device, scope, txnId) returns the event sent first. */
  txn?: { deviceId: string; txnId: string; scope: string };
}

/** A room row locked for this transaction; appends update it in place so several can follow in one transaction. */
export interface LockedRoom {
  roomId: string;
  roomVersion: string;
  latestEventId: string | null;
  latestDepth: number;
}

/** Locks the room (its events are appended one at a time) or refuses with 404. */
export async function lockRoomForAppend(tx: Tx, roomId: string): Promise<LockedRoom> {
  const room = await lockRoom(tx, roomId);
  if (!room) throw notFound(`Room ${roomId} is not known to this server`);
  return { roomId, roomVersion: room.room_version, latestEventId: room.latest_event_id, latestDepth: room.latest_depth };
}

/**
 * Sends one event into an existing room, in its own transaction: the sender
 * must be allowed by the auth rules against the current state. A replayed
 * transaction ID returns the first event without sending another.
 */
export async function sendEvent(app: AppContext, roomId: string, draft: EventDraft): Promise<PersistentEvent> {
  return withTransaction(app.db, async (tx, hooks) => {
    const room = await lockRoomForAppend(tx, roomId);
    if (draft.txn) {
      const existing = await findTxnEvent(tx, { user_id: draft.sender, device_id: draft.txn.deviceId, scope: draft.txn.scope, txn_id: draft.txn.txnId });
      if (existing) return (await findEvent(tx, existing))!.json;
    }
    return appendEvent(app, tx, hooks, room, draft);
  });
}

/**
 * Builds, authorises and stores one event at the end of a locked room: the
 * event row, its state history and current-state rows, the membership row,
 * the redaction it applies; and wakes the room's members once committed.
 */
export async function appendEvent(app: AppContext, tx: Tx, hooks: TxHooks, room: LockedRoom, draft: EventDraft): Promise<PersistentEvent> {
  if (draft.type === 'm.room.power_levels') {
    // Malformed levels are the client's mistake (400), not a permission question (403).
    const problem = powerLevelsContentProblem(draft.content, roomVersionRules(room.roomVersion));
    if (problem) throw new MatrixError(ErrCode.BAD_JSON, `Invalid power levels: ${problem}`);
  }
  const authState = await loadAuthState(tx, room.roomId, draft);
  const event = buildOrRefuse({
    roomVersion: room.roomVersion,
    roomId: room.roomId,
    sender: draft.sender,
    type: draft.type,
    stateKey: draft.stateKey,
    content: draft.content,
    prevEvents: room.latestEventId ? [room.latestEventId] : [],
    authEvents: selectAuthEvents(draft.type, draft.stateKey, draft.sender, draft.content, authState),
    depth: room.latestDepth + 1,
    originServerTs: draft.originServerTs ?? Date.now(),
    origin: app.config.server_name,
    signingKey: app.signingKey,
    redacts: draft.redacts,
  });
  const size = Buffer.byteLength(canonicalJson(event));
  if (size > MAX_EVENT_BYTES) throw tooLarge(`The event is ${size} bytes; events may be at most ${MAX_EVENT_BYTES} bytes`);
  const auth = checkEventAuth(event, authState, room.roomVersion);
  if (!auth.allowed) throw forbidden(`Refused by the room's rules: ${auth.reason}`);
  const redactionTarget = draft.type === 'm.room.redaction' ? await checkRedaction(tx, event, authState, room) : undefined;

  const { position, wake } = await app.roomEvents.allocate(tx, hooks);
  await insertEvent(tx, {
    event_id: event.event_id,
    room_id: room.roomId,
    stream_ordering: position,
    depth: event.depth,
    type: event.type,
    state_key: event.state_key ?? null,
    sender: event.sender,
    origin_server_ts: event.origin_server_ts,
    json: event,
    redacted_because: null,
    txn_device_id: draft.txn?.deviceId ?? null,
    txn_id: draft.txn?.txnId ?? null,
  });
  if (draft.txn) {
    await insertTxn(tx, { user_id: draft.sender, device_id: draft.txn.deviceId, scope: draft.txn.scope, txn_id: draft.txn.txnId, event_id: event.event_id, created_ts: Date.now() });
  }
  if (event.state_key !== undefined) {
    await recordStateEvent(tx, { room_id: room.roomId, type: event.type, state_key: event.state_key, event_id: event.event_id, stream_ordering: position });
  }
  if (event.type === 'm.room.member' && event.state_key !== undefined) {
    await recordMembership(tx, { room_id: room.roomId, user_id: event.state_key, membership: String(event.content.membership), event_id: event.event_id, stream_ordering: position });
    wake.add(event.state_key);
  }
  if (redactionTarget) await markRedacted(tx, redactionTarget.event_id, redactEvent(redactionTarget, room.roomVersion), event.event_id);
  await setLatestEvent(tx, room.roomId, event.event_id, event.depth);
  room.latestEventId = event.event_id;
  room.latestDepth = event.depth;
  for (const member of await joinedMembers(tx, room.roomId)) wake.add(member);
  return event;
}

/** Content that canonical JSON cannot carry (floats, integers beyond 2^53) is the client's error. */
function buildOrRefuse(input: Parameters<typeof buildEvent>[0]): PersistentEvent {
  try {
    return buildEvent(input);
  } catch (error) {
    if (error instanceof CanonicalJsonError) throw new MatrixError(ErrCode.BAD_JSON, `Event content is not valid canonical JSON: ${error.message}`);
    throw error;
  }
}

/** The current state events the auth rules consult for this event, and nothing more. */
async function loadAuthState(tx: Tx, roomId: string, draft: EventDraft): Promise<StateMap> {
  const pairs = authStateKeysFor(draft.type, draft.stateKey, draft.sender, draft.content).map((key) => {
    const [type, stateKeyValue] = splitStateKey(key);
    return { type, state_key: stateKeyValue };
  });
  const rows = await currentStateEvents(tx, roomId, pairs);
  return stateMapOf(rows.map((row) => row.json));
}

/** A client's redaction must name an event of this room the sender may redact. */
async function checkRedaction(tx: Tx, redaction: PersistentEvent, authState: StateMap, room: LockedRoom): Promise<PersistentEvent | undefined> {
  const targetId = redaction.redacts ?? (redaction.content.redacts as string | undefined);
  if (!targetId) throw new MatrixError(ErrCode.BAD_JSON, 'A redaction must name the event it redacts');
  const target = await findEvent(tx, targetId);
  if (!target || target.room_id !== room.roomId) throw notFound(`Event ${targetId} is not in room ${room.roomId}`);
  const allowed = checkRedactionTarget(redaction, target.json, authState, room.roomVersion, 'client');
  if (!allowed.allowed) throw forbidden(`You may not redact this event: ${allowed.reason}`);
  return target.redacted_because ? undefined : target.json;
}
