import type { AppContext } from '../app-context.ts';
import { ignoredUsersOf } from '../accounts/account-data.ts';
import { invalidParam } from '../errors.ts';
import { loadRuleset } from '../push/push-rules.ts';
import { receiptsBetween } from '../storage/queries/receipts.ts';
import { findUser } from '../storage/queries/users.ts';
import { STREAMS, type StreamName, type StreamToken } from '../sync/stream-token.ts';
import { MAX_SYNC_TIMEOUT_MS } from '../sync/sync.ts';
import type { UnreadSetup } from '../sync/unread-counts.ts';
import { roomEventsProvider } from '../sync/streams/room-events.ts';
import { toDeviceProvider } from '../sync/streams/to-device.ts';
import { deviceListsProvider } from '../sync/streams/device-lists.ts';
import { accountDataProvider } from '../sync/streams/account-data.ts';
import { receiptsProvider } from '../sync/streams/receipts.ts';
import { typingProvider } from '../sync/streams/typing.ts';
import { presenceProvider } from '../sync/streams/presence.ts';
import { openConnection, unknownPos, type ConnectionState, type SentRoom } from './connection-state.ts';
import { buildExtensions } from './extensions.ts';
import { MAX_LISTS, type SlidingSyncBodyJson } from './request.ts';
import { roomOutcome, type RoomScope } from './room-data.ts';
import { requiredStateKey, type RequiredState } from './required-state.ts';
import { candidateRooms } from './room-list.ts';
import { selectRooms } from './room-selection.ts';
import { mapConcurrently } from '../sync/map-concurrently.ts';

/** Rooms of one response built at once: enough to overlap round trips, few enough to leave the pool to others. */
const ROOMS_IN_PARALLEL = 4;
/** How often a request whose connection another request moved first is recomputed before giving up. */
const COMMIT_ATTEMPTS = 3;

/** The same streams, and the same positions, as /sync reads. */
const LATEST: Record<StreamName, (app: AppContext) => number> = Object.fromEntries(
  [roomEventsProvider, toDeviceProvider, deviceListsProvider, accountDataProvider, receiptsProvider, typingProvider, presenceProvider].map((provider) => [provider.name, provider.latest]),
) as Record<StreamName, (app: AppContext) => number>;

/**
 * The newest request of each connection in this process. A client replaces an
 * in-flight request by cancelling it and sending another with the same `pos`;
 * the server does not see the cancel, so the older request must never save
 * its state over the newer one's: it finishes without saving.
 */
const newestRequests = new WeakMap<AppContext, Map<string, { stop: () => void }>>();

export interface SlidingSyncOptions {
  pos: string | undefined;
  timeoutMs: number;
}

/**
 * POST /_matrix/client/unstable/org.matrix.simplified_msc3575/sync (MSC4186).
 * Loads the connection `pos` continues, builds the lists, the rooms that are
 * new to the connection or changed since, and the extensions; with a `pos`
 * and nothing to say it waits on the notifier (registered before positions
 * are read, as /sync does) until something for the user changes or the
 * timeout passes. The new state is saved before the response leaves.
 */
export async function slidingSync(app: AppContext, caller: { userId: string; deviceId: string }, body: SlidingSyncBodyJson, options: SlidingSyncOptions): Promise<Record<string, unknown>> {
  if (Object.keys(body.lists ?? {}).length > MAX_LISTS) throw invalidParam(`At most ${MAX_LISTS} lists`);
  const key = { user_id: caller.userId, device_id: caller.deviceId, conn_id: body.conn_id ?? '' };
  const connectionName = JSON.stringify([key.user_id, key.device_id, key.conn_id]);
  const newest = newestRequests.get(app) ?? new Map<string, { stop: () => void }>();
  newestRequests.set(app, newest);
  // A replaced request stops waiting at once (its client is gone).
  const me = { stop: () => {} };
  const replaced = new Promise<false>((resolve) => (me.stop = () => resolve(false)));
  newest.get(connectionName)?.stop();
  newest.set(connectionName, me);
  const listener = app.notifier.listen(caller.userId, caller.deviceId);
  try {
    for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
      const connection = await openConnection(app.db, key, options.pos);
      const previous = connection.previous;
      const deadline = Date.now() + (previous ? Math.min(options.timeoutMs, MAX_SYNC_TIMEOUT_MS) : 0);
      for (;;) {
        const upTo = latestToken(app);
        const built = await buildResponse(app, caller, body, previous, upTo);
        const remaining = deadline - Date.now();
        if (built.changed || remaining <= 0 || !(await Promise.race([listener.wait(upTo, remaining), replaced]))) {
          if (newest.get(connectionName) !== me) throw unknownPos('A newer request on this sync connection replaced this one');
          const pos = await connection.commit(built.state);
          if (pos === false) break;
          return { pos, ...built.body };
        }
      }
    }
    throw unknownPos('Another request moved this sync connection on; use the pos of the response you processed last, or start again without pos');
  } finally {
    listener.close();
    if (newest.get(connectionName) === me) newest.delete(connectionName);
  }
}

function latestToken(app: AppContext): StreamToken {
  return Object.fromEntries(STREAMS.map((name) => [name, LATEST[name](app)])) as Record<StreamName, number>;
}

interface BuiltResponse {
  body: Record<string, unknown>;
  state: ConnectionState;
  changed: boolean;
}

async function buildResponse(app: AppContext, caller: { userId: string; deviceId: string }, body: SlidingSyncBodyJson, previous: ConnectionState | undefined, upTo: StreamToken): Promise<BuiltResponse> {
  const { userId, deviceId } = caller;
  // A token ahead of the server (a restored database) reads as "now", never as the future.
  const since = previous && (Object.fromEntries(STREAMS.map((name) => [name, Math.min(previous.token[name], upTo[name])])) as StreamToken);
  const sentRooms = previous?.rooms ?? {};
  const ignored = await ignoredUsersOf(app.db, userId);
  const candidates = await candidateRooms(app, userId, upTo.room, new Set(Object.keys(sentRooms)), ignored);
  const selection = await selectRooms(app, userId, body, previous, candidates);
  let changed = selection.lists.some((list) => previous?.lists[list.key]?.count !== selection.counts[list.key].count);

  // Rooms: new to the connection, changed since sent, or whose counts moved with the user's own receipt.
  const entries = [...selection.wanted.values()];
  const joinedWanted = entries.filter((entry) => entry.room.membership === 'join').map((entry) => entry.room.roomId);
  const ownReceiptMoved = new Set(
    since ? (await receiptsBetween(app.db, joinedWanted, since.receipt, upTo.receipt)).filter((row) => row.user_id === userId).map((row) => row.room_id) : [],
  );
  let setup: Promise<UnreadSetup> | undefined;
  const scope: RoomScope = {
    app,
    userId,
    deviceId,
    upTo: upTo.room,
    liveAfter: since?.room,
    ignored,
    unreadSetup: () =>
      (setup ??= Promise.all([loadRuleset(app.db, userId), findUser(app.db, userId)]).then(([ruleset, user]) => ({ userId, ruleset, displayName: user?.displayname ?? undefined, ignored }))),
  };
  const sentWith = (roomId: string) => {
    const sent = sentRooms[roomId];
    return sent && { ...sent, config: previous?.configs?.[sent.requiredState] };
  };
  const outcomes = await mapConcurrently(entries, ROOMS_IN_PARALLEL, ({ room, config }) =>
    roomOutcome(scope, room, config, sentWith(room.roomId), ownReceiptMoved.has(room.roomId), selection.filterData.dmRooms.has(room.roomId)),
  );
  const rooms: Record<string, unknown> = {};
  const nextSent: Record<string, SentRoom> = { ...sentRooms };
  const initialRooms = new Map<string, Set<string>>();
  entries.forEach(({ room }, i) => {
    const outcome = outcomes[i];
    if (!outcome) return;
    rooms[room.roomId] = outcome.result;
    nextSent[room.roomId] = outcome.sent;
    if (outcome.initial) initialRooms.set(room.roomId, new Set(((outcome.result.timeline ?? []) as Array<{ event_id: string }>).map((event) => event.event_id)));
  });
  // A room the user no longer has any view of (forgotten, or left unseen) is dropped from what the connection remembers.
  const visible = new Set(candidates.map((room) => room.roomId));
  for (const roomId of Object.keys(nextSent)) if (!visible.has(roomId)) delete nextSent[roomId];
  if (Object.keys(rooms).length > 0) changed = true;

  const extensions = await buildExtensions(
    { app, userId, deviceId, since, upTo, toDeviceSince: previous?.toDevice ?? 0, roomsFor: selection.roomsFor, initialRooms, ignored },
    body.extensions,
  );
  if (extensions.changed) changed = true;

  // The configs rooms were sent with, each once, kept while some room refers to it.
  const knownConfigs: Record<string, RequiredState> = { ...previous?.configs };
  for (const { config } of entries) knownConfigs[requiredStateKey(config.requiredState)] = config.requiredState;
  const configs = Object.fromEntries([...new Set(Object.values(nextSent).map((sent) => sent.requiredState))].flatMap((key) => (knownConfigs[key] ? [[key, knownConfigs[key]]] : [])));
  const state: ConnectionState = {
    token: upTo,
    rooms: nextSent,
    configs,
    lists: Object.fromEntries(selection.lists.map((list) => [list.key, { config: list.config, filters: list.filters, count: selection.counts[list.key].count }])),
    subscriptions: selection.subscriptions,
    toDevice: extensions.toDevice,
  };
  return { body: { lists: selection.counts, rooms, extensions: extensions.body }, state, changed };
}

