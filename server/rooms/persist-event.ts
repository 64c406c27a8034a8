import type { AppContext } from '../app-context.ts';
import { forbidden, MatrixError, ErrCode, notFound, tooLarge } from '../errors.ts';
import type { Tx } from '../storage/database.ts';
import { findEvent, insertEventAtNextPosition, markRedacted } from '../storage/queries/events.ts';
import { appendInputs, recordMembership, recordStateEvent, type StateKeyPair } from '../storage/queries/room-state.ts';
import { advanceRoomHead, lockRoom } from '../storage/queries/rooms.ts';
import { withTransaction, type TxHooks } from '../storage/transaction.ts';
import type { BatchOutcome } from './append-batcher.ts';
import { ENCRYPTION_STATE, encryptionPolicyRefusal, redactionPolicyRefusal } from '../channels/encryption-policy.ts';
import { botAdmissionRefusal } from '../channels/bot-admission.ts';
import { restrictedJoinRefusal } from './restricted-join.ts';
import { retentionStateProblem } from '../channels/channel-policy.ts';
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
  /** Users to wake for the newest event appended in this transaction; its joined members join them in `finishAppends`. */
  newestWake?: Set<string>;
  /** The event whose insert already moved the head, and the members it read then (see `appendEvent`'s `lastOfBatch`). */
  headWrittenWith?: { eventId: string; joinedMembers: string[] };
}

/** Most queued sends to one room that share a transaction. */
export const MAX_APPEND_BATCH = 50;

/** Locks the room (its events are appended one at a time) or refuses with 404. */
export async function lockRoomForAppend(tx: Tx, roomId: string): Promise<LockedRoom> {
  const room = await lockRoom(tx, roomId);
  if (!room) throw notFound(`Room ${roomId} is not known to this server`);
  return { roomId, roomVersion: room.room_version, latestEventId: room.latest_event_id, latestDepth: room.latest_depth };
}

/**
 * Sends one event into an existing room: the sender must be allowed by the
 * auth rules against the current state. A replayed transaction ID returns
 * the first event without sending another. Sends to a room that arrive while
 * one is being written are queued and written together (`appendDrafts`).
 */
export function sendEvent(app: AppContext, roomId: string, draft: EventDraft): Promise<PersistentEvent> {
  return app.roomAppends.submit(roomId, draft);
}

/**
 * Appends drafts to one room in one transaction, in order, each authorised
 * against the state the ones before it left. A refused draft (a MatrixError,
 * raised before it writes anything) is refused alone; an unexpected failure
 * aborts the transaction, and then each draft is retried on its own so that
 * one bad draft cannot take the others down with it.
 */
export async function appendDrafts(app: AppContext, roomId: string, drafts: EventDraft[]): Promise<Array<BatchOutcome<PersistentEvent>>> {
  try {
    return await withTransaction(app.db, async (tx, hooks) => {
      const room = await lockRoomForAppend(tx, roomId);
      const outcomes: Array<BatchOutcome<PersistentEvent>> = [];
      for (const [index, draft] of drafts.entries()) {
        try {
          outcomes.push({ ok: true, value: await appendEvent(app, tx, hooks, room, draft, { lastOfBatch: index === drafts.length - 1 }) });
        } catch (error) {
          if (!(error instanceof MatrixError)) throw error;
          outcomes.push({ ok: false, error });
        }
      }
      await finishAppends(tx, room);
      return outcomes;
    });
  } catch (error) {
    if (drafts.length === 1 || error instanceof MatrixError) throw error;
    const outcomes: Array<BatchOutcome<PersistentEvent>> = [];
    for (const draft of drafts) {
      outcomes.push(await appendDrafts(app, roomId, [draft]).then((single) => single[0], (failure: unknown) => ({ ok: false as const, error: failure })));
    }
    return outcomes;
  }
}

/**
 * Builds, authorises and stores one event at the end of a locked room: the
 * event row, its state history and current-state rows, the membership row,
 * the redaction it applies. Everything that can refuse it runs before the
 * first write. Call `finishAppends` once after the last append of the
 * transaction. A replayed transaction ID returns the event it made first.
 * `lastOfBatch` (no append follows in this transaction) lets the event's
 * insert move the room's head too, saving `finishAppends` a round trip.
 */
export async function appendEvent(
  app: AppContext,
  tx: Tx,
  hooks: TxHooks,
  room: LockedRoom,
  draft: EventDraft,
  options: { lastOfBatch?: boolean } = {},
): Promise<PersistentEvent> {
  if (draft.type === 'm.room.power_levels') {
    // Malformed levels are the client's mistake (400), not a permission question (403).
    const problem = powerLevelsContentProblem(draft.content, roomVersionRules(room.roomVersion));
    if (problem) throw new MatrixError(ErrCode.BAD_JSON, `Invalid power levels: ${problem}`);
  }
  const retentionProblem = retentionStateProblem(draft);
  if (retentionProblem) throw new MatrixError(ErrCode.BAD_JSON, retentionProblem);
  const txnKey = draft.txn && { user_id: draft.sender, device_id: draft.txn.deviceId, scope: draft.txn.scope, txn_id: draft.txn.txnId };
  const inputs = await appendInputs(tx, room.roomId, [...authStatePairs(draft), ENCRYPTION_STATE], txnKey);
  if (inputs.txnEventId) return (await findEvent(tx, inputs.txnEventId))!.json;
  const encryption = inputs.stateEvents.find((state) => state.type === ENCRYPTION_STATE.type && state.state_key === ENCRYPTION_STATE.state_key);
  const authState = stateMapOf(inputs.stateEvents.filter((state) => state !== encryption));
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
  const policyRefusal = encryptionPolicyRefusal(draft, encryption);
  if (policyRefusal) throw policyRefusal;
  const botRefusal = await botAdmissionRefusal(app, tx, room.roomId, draft, encryption);
  if (botRefusal) throw botRefusal;
  const restrictedRefusal = await restrictedJoinRefusal(tx, draft, authState);
  if (restrictedRefusal) throw restrictedRefusal;
  const redactionTarget = draft.type === 'm.room.redaction' ? await checkRedaction(tx, event, authState, room) : undefined;

  // Writes from here on: nothing below may refuse the event.
  const slot = await app.roomEvents.reserve(tx, hooks);
  const row = {
    event_id: event.event_id,
    room_id: room.roomId,
    depth: event.depth,
    type: event.type,
    state_key: event.state_key ?? null,
    sender: event.sender,
    origin_server_ts: event.origin_server_ts,
    json: event,
    redacted_because: null,
    txn_device_id: draft.txn?.deviceId ?? null,
    txn_id: draft.txn?.txnId ?? null,
  };
  const head = options.lastOfBatch ? { roomId: room.roomId, depth: event.depth } : undefined;
  const { position, joinedMembers } = await insertEventAtNextPosition(tx, row, txnKey, Date.now(), head);
  slot.assign(position);
  // Members before this event: with a membership event's target (added below) that covers everyone joined after it.
  room.headWrittenWith = joinedMembers && { eventId: event.event_id, joinedMembers };
  if (event.state_key !== undefined) {
    await recordStateEvent(tx, { room_id: room.roomId, type: event.type, state_key: event.state_key, event_id: event.event_id, stream_ordering: position });
  }
  if (event.type === 'm.room.member' && event.state_key !== undefined) {
    await recordMembership(tx, { room_id: room.roomId, user_id: event.state_key, membership: String(event.content.membership), event_id: event.event_id, stream_ordering: position });
    slot.wake.add(event.state_key);
  }
  if (redactionTarget) await markRedacted(tx, redactionTarget.event_id, redactEvent(redactionTarget, room.roomVersion), event.event_id);
  room.latestEventId = event.event_id;
  room.latestDepth = event.depth;
  room.newestWake = slot.wake;
  return event;
}

/**
 * Moves the room's head to the last event appended in this transaction and
 * wakes its joined members once it commits (waking on the newest position
 * covers the others: they become visible together).
 */
export async function finishAppends(tx: Tx, room: LockedRoom): Promise<void> {
  if (!room.newestWake || !room.latestEventId) return;
  const written = room.headWrittenWith?.eventId === room.latestEventId ? room.headWrittenWith.joinedMembers : undefined;
  for (const member of written ?? (await advanceRoomHead(tx, room.roomId, room.latestEventId, room.latestDepth))) room.newestWake.add(member);
  room.newestWake = undefined;
  room.headWrittenWith = undefined;
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

/** The (type, state_key) pairs of current state the auth rules consult for this event, and nothing more. */
function authStatePairs(draft: EventDraft): StateKeyPair[] {
  return authStateKeysFor(draft.type, draft.stateKey, draft.sender, draft.content).map((key) => {
    const [type, stateKeyValue] = splitStateKey(key);
    return { type, state_key: stateKeyValue };
  });
}

/** A client's redaction must name an event of this room the sender may redact. */
async function checkRedaction(tx: Tx, redaction: PersistentEvent, authState: StateMap, room: LockedRoom): Promise<PersistentEvent | undefined> {
  const targetId = redaction.redacts ?? (redaction.content.redacts as string | undefined);
  if (!targetId) throw new MatrixError(ErrCode.BAD_JSON, 'A redaction must name the event it redacts');
  const target = await findEvent(tx, targetId);
  if (!target || target.room_id !== room.roomId) throw notFound(`Event ${targetId} is not in room ${room.roomId}`);
  const allowed = checkRedactionTarget(redaction, target.json, authState, room.roomVersion, 'client');
  if (!allowed.allowed) throw forbidden(`You may not redact this event: ${allowed.reason}`);
  const policyRefusal = redactionPolicyRefusal(target.json);
  if (policyRefusal) throw policyRefusal;
  return target.redacted_because ? undefined : target.json;
}
