import type { AppContext } from '../app-context.ts';
import { deviceListUpdates } from '../e2ee/device-list-updates.ts';
import { oneTimeKeyCounts, unusedFallbackKeyTypes } from '../e2ee/key-counts.ts';
import { deleteAcknowledgedToDeviceMessages, takeToDeviceMessages } from '../e2ee/to-device.ts';
import { accountDataBetween, GLOBAL_ROOM } from '../storage/queries/account-data.ts';
import { receiptsBetween } from '../storage/queries/receipts.ts';
import type { ReceiptRow } from '../storage/tables/user-data.ts';
import type { StreamToken } from '../sync/stream-token.ts';
import { MAX_TO_DEVICE_LIMIT, type ExtensionsJson, type RoomScopeJson } from './request.ts';

/** Spec: private read receipts are shown only to the user who sent them. */
const PRIVATE_RECEIPT_TYPES = new Set(['m.read.private']);
/** The to-device batch when the client names none (as Synapse). */
const DEFAULT_TO_DEVICE_LIMIT = 100;

/** What the extensions need of the request: positions, and which rooms each per-room extension covers. */
export interface ExtensionScope {
  app: AppContext;
  userId: string;
  deviceId: string;
  /** Positions of the connection's previous response; undefined on a new connection (everything is initial). */
  since: StreamToken | undefined;
  upTo: StreamToken;
  /** The to-device position the connection's previous response delivered up to. */
  toDeviceSince: number;
  /** Joined rooms a per-room extension with these `lists`/`rooms` selectors covers. */
  roomsFor: (selector: RoomScopeJson) => string[];
  /** Rooms sent with `initial: true` in this response (their per-room data goes down whole), with the IDs of their timeline events. */
  initialRooms: ReadonlyMap<string, ReadonlySet<string>>;
  ignored: ReadonlySet<string>;
}

export interface ExtensionsOutcome {
  body: Record<string, unknown>;
  /** Whether anything in them is a change (key counts alone are not: they never end a long-poll). */
  changed: boolean;
  /** The to-device position this response delivered up to. */
  toDevice: number;
}

export async function buildExtensions(scope: ExtensionScope, request: ExtensionsJson | undefined): Promise<ExtensionsOutcome> {
  const body: Record<string, unknown> = {};
  let changed = false;
  let toDevice = scope.toDeviceSince;
  if (request?.to_device?.enabled) {
    const result = await toDeviceExtension(scope, request.to_device);
    body.to_device = { next_batch: String(result.nextBatch), events: result.events };
    toDevice = result.nextBatch;
    changed ||= result.events.length > 0;
  }
  if (request?.e2ee?.enabled) {
    const e2ee = await e2eeExtension(scope);
    body.e2ee = e2ee;
    changed ||= e2ee.device_lists !== undefined;
  }
  if (request?.account_data?.enabled) {
    const accountData = await accountDataExtension(scope, request.account_data);
    body.account_data = accountData;
    changed ||= accountData.global.length > 0 || Object.keys(accountData.rooms).length > 0;
  }
  if (request?.receipts?.enabled) {
    const rooms = await receiptsExtension(scope, request.receipts);
    body.receipts = { rooms };
    changed ||= Object.keys(rooms).length > 0;
  }
  if (request?.typing?.enabled) {
    const rooms = typingExtension(scope, request.typing);
    body.typing = { rooms };
    changed ||= Object.keys(rooms).length > 0;
  }
  return { body, changed, toDevice };
}

/**
 * The device's to-device inbox after `since` (the client's last `next_batch`,
 * else what this connection delivered before), oldest first. Messages at or
 * below `since` are acknowledged and deleted: the client had them.
 */
async function toDeviceExtension(scope: ExtensionScope, request: { since?: string; limit?: number }) {
  const { app, userId, deviceId } = scope;
  const since = Math.min(request.since === undefined ? scope.toDeviceSince : Number(request.since), scope.upTo.to_device);
  if (since > 0) await deleteAcknowledgedToDeviceMessages(app.db, userId, deviceId, since);
  const limit = Math.min(request.limit ?? DEFAULT_TO_DEVICE_LIMIT, MAX_TO_DEVICE_LIMIT);
  const page = await takeToDeviceMessages(app.db, userId, deviceId, since, limit + 1, Date.now(), scope.upTo.to_device);
  const delivered = page.slice(0, limit);
  const nextBatch = page.length > delivered.length ? delivered[delivered.length - 1].position : scope.upTo.to_device;
  return { nextBatch, events: delivered.map(({ sender, type, content }) => ({ sender, type, content })) };
}

/** Key counts every time; device-list changes since the connection's previous response. */
async function e2eeExtension(scope: ExtensionScope) {
  const { app, userId, deviceId, since, upTo } = scope;
  const [counts, fallbackTypes] = await Promise.all([oneTimeKeyCounts(app.db, userId, deviceId), unusedFallbackKeyTypes(app.db, userId, deviceId)]);
  const out: { device_one_time_keys_count: Record<string, number>; device_unused_fallback_key_types: string[]; device_lists?: { changed: string[]; left: string[] } } = {
    device_one_time_keys_count: counts,
    device_unused_fallback_key_types: fallbackTypes,
  };
  if (since) {
    const updates = await deviceListUpdates(app.db, userId, { room: since.room, deviceLists: since.device_lists }, { room: upTo.room, deviceLists: upTo.device_lists });
    if (updates.changed.length > 0 || updates.left.length > 0) out.device_lists = updates;
  }
  return out;
}

/** Global account data that changed (all of it on a new connection); per room, what changed, or all of it for a room sent initial. */
async function accountDataExtension(scope: ExtensionScope, selector: RoomScopeJson) {
  const { app, userId, since, upTo } = scope;
  // Unchanged rows are needed only for rooms sent initial.
  const rows = await accountDataBetween(app.db, userId, scope.initialRooms.size > 0 ? undefined : since?.account_data, upTo.account_data);
  const isNew = (streamId: number) => since === undefined || streamId > since.account_data;
  const global = rows.filter((row) => row.room_id === GLOBAL_ROOM && isNew(row.stream_id)).map((row) => ({ type: row.type, content: row.content }));
  const covered = new Set(scope.roomsFor(selector));
  const rooms: Record<string, Array<{ type: string; content: unknown }>> = {};
  for (const row of rows) {
    if (row.room_id === GLOBAL_ROOM || !covered.has(row.room_id)) continue;
    if (!isNew(row.stream_id) && !scope.initialRooms.has(row.room_id)) continue;
    (rooms[row.room_id] ??= []).push({ type: row.type, content: row.content });
  }
  return { global, rooms };
}

type ReceiptContent = Record<string, Record<string, Record<string, { ts: number; thread_id?: string }>>>;

/**
 * One m.receipt event per covered room: receipts that moved since the
 * previous response; for a room sent initial, the user's own and those on
 * the events of the timeline sent (as Synapse does: a big room's every
 * member's receipt would swamp the response).
 */
async function receiptsExtension(scope: ExtensionScope, selector: RoomScopeJson) {
  const { app, since, upTo } = scope;
  const covered = scope.roomsFor(selector);
  const fresh = covered.filter((id) => since === undefined || scope.initialRooms.has(id));
  const known = covered.filter((id) => since !== undefined && !scope.initialRooms.has(id));
  const freshRows = (await receiptsBetween(app.db, fresh, undefined, upTo.receipt)).filter(
    (row) => row.user_id === scope.userId || (scope.initialRooms.get(row.room_id)?.has(row.event_id) ?? false),
  );
  const rows = [...freshRows, ...(await receiptsBetween(app.db, known, since?.receipt, upTo.receipt))];
  const rooms: Record<string, { type: 'm.receipt'; content: ReceiptContent }> = {};
  for (const row of rows) {
    if (PRIVATE_RECEIPT_TYPES.has(row.receipt_type) && row.user_id !== scope.userId) continue;
    if (scope.ignored.has(row.user_id)) continue;
    addReceipt((rooms[row.room_id] ??= { type: 'm.receipt', content: {} }).content, row);
  }
  return rooms;
}

function addReceipt(content: ReceiptContent, row: ReceiptRow): void {
  const byType = (content[row.event_id] ??= {});
  const byUser = (byType[row.receipt_type] ??= {});
  byUser[row.user_id] = { ts: Number(row.ts), ...(row.thread_id === '' ? {} : { thread_id: row.thread_id }) };
}

/** Who types in each covered room whose typing changed since the previous response (for a room sent initial: if anyone types). */
function typingExtension(scope: ExtensionScope, selector: RoomScopeJson) {
  const rooms: Record<string, { type: 'm.typing'; content: { user_ids: string[] } }> = {};
  for (const roomId of scope.roomsFor(selector)) {
    const { userIds, position } = scope.app.typing.typingIn(roomId);
    const fresh = scope.since === undefined || scope.initialRooms.has(roomId);
    if (fresh ? userIds.length === 0 : position <= scope.since!.typing) continue;
    rooms[roomId] = { type: 'm.typing', content: { user_ids: userIds } };
  }
  return rooms;
}
