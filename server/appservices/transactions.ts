import type { AppContext } from '../app-context.ts';
import { toClientEvents } from '../rooms/client-event.ts';
import type { Tx } from '../storage/database.ts';
import {
  advanceAppserviceState,
  eventsAfterPosition,
  insertAppserviceTransaction,
  lockAppserviceState,
  pendingTransaction,
  roomInterestFacts,
  toDeviceMessagesAfter,
} from '../storage/queries/appservices.ts';
import { currentToDevicePosition } from '../storage/queries/to-device.ts';
import type { AppserviceStateRow, AppserviceTransactionRow } from '../storage/tables/appservices.ts';
import type { EventRow } from '../storage/tables/rooms.ts';
import { withTransaction } from '../storage/transaction.ts';
import { isInterested } from './interest.ts';
import { ownsUser } from './namespaces.ts';
import { deviceKeyExtensions } from './msc3202.ts';
import { chooseDeviceLists, type DeviceListSummary } from './device-lists.ts';
import { chooseEphemeral, recordTypingSent } from './ephemeral.ts';
import type { Registration } from './registration.ts';

/** Spec leaves the size open; Synapse sends at most 100 events per transaction, and so do we (and 100 to-device messages). */
export const MAX_EVENTS_PER_TRANSACTION = 100;
/** Rows read per query while looking for ones the appservice cares about. */
const SCAN_BATCH = 500;
/** Rows looked at in one database transaction, so the state row is never locked for long. */
const MAX_SCAN_PER_BUILD = 5_000;

export type NextTransaction =
  | { kind: 'send'; transaction: AppserviceTransactionRow }
  /** Nothing to send yet; `more` when rows remain to be looked at. */
  | { kind: 'none'; more: boolean };

interface Chosen<T> {
  rows: T[];
  /** The position everything up to which has been looked at. */
  upTo: number;
  more: boolean;
}

/**
 * The transaction to send next: the pending one if a previous attempt was not
 * acknowledged (same txnId, same events: the spec's retry rule), otherwise a
 * new one built from the room events after the appservice's position (up to
 * the position the writers announced visible) and, for appservices that
 * receive ephemeral data, the to-device messages for its users and the
 * typing, receipts and presence it is interested in (MSC2409), and for
 * MSC3202 appservices the device-list changes. Everything a transaction
 * carries is stored with it, so a retry resends exactly the same.
 * Built and recorded in one database transaction under the appservice's state
 * row lock, so two runners never build two different transactions.
 */
export async function nextTransaction(app: AppContext, registration: Registration): Promise<NextTransaction> {
  let typingUpTo: number | undefined;
  const next = await withTransaction(app.db, async (tx): Promise<NextTransaction> => {
    const state = await lockAppserviceState(tx, registration.id);
    if (!state) return { kind: 'none', more: false };
    const pending = await pendingTransaction(tx, registration.id);
    if (pending) return { kind: 'send', transaction: pending };

    const events = await chooseRoomEvents(tx, registration, state);
    const toDevice = registration.receiveEphemeral ? await chooseToDevice(tx, registration, state) : { rows: [], upTo: state.to_device_position, more: false };
    const ephemeral = registration.receiveEphemeral ? await chooseEphemeral(app, tx, registration, state) : undefined;
    const deviceLists = registration.deviceMasquerading ? await chooseDeviceLists(tx, registration, state, events.rows) : undefined;
    typingUpTo = ephemeral?.typingUpTo;
    const more = events.more || toDevice.more || Boolean(ephemeral?.more);
    const positions = {
      stream_position: events.upTo,
      to_device_position: toDevice.upTo,
      ...ephemeral?.positions,
      ...(deviceLists ? { device_list_position: deviceLists.upTo } : {}),
    };
    if (events.rows.length === 0 && toDevice.rows.length === 0 && !ephemeral?.events.length && !deviceLists?.summary) {
      await advanceAppserviceState(tx, registration.id, positions);
      return { kind: 'none', more };
    }
    const mentioned = [
      ...events.rows.flatMap((row) => (row.type === 'm.room.member' && row.state_key !== null ? [row.sender, row.state_key] : [row.sender])),
      ...toDevice.rows.map((row) => row.recipient_user_id),
    ];
    const transaction = await insertAppserviceTransaction(tx, {
      appservice_id: registration.id,
      txn_id: state.next_txn_id,
      events: await toClientEvents(tx, events.rows, undefined),
      ephemeral: ephemeral?.events ?? [],
      to_device: toDevice.rows.map((row) => ({
        type: row.event_type,
        sender: row.sender_user_id,
        content: row.content,
        to_user_id: row.recipient_user_id,
        to_device_id: row.recipient_device_id,
      })),
      extensions: { ...(await deviceKeyExtensions(tx, registration, mentioned)), ...deviceListExtensions(deviceLists?.summary) },
      last_position: events.upTo,
    });
    await advanceAppserviceState(tx, registration.id, { ...positions, next_txn_id: state.next_txn_id + 1 });
    return { kind: 'send', transaction };
  });
  // Committed: the typing it carries (or found nothing new in) is not sent again.
  if (typingUpTo !== undefined) recordTypingSent(app, registration.id, typingUpTo);
  return next;
}

/** MSC3202 device lists under the MSC's unstable name and the name it proposes for the stable API. */
function deviceListExtensions(summary: DeviceListSummary | undefined): Record<string, unknown> {
  return summary ? { 'org.matrix.msc3202.device_lists': summary, device_lists: summary } : {};
}

async function chooseRoomEvents(tx: Tx, registration: Registration, state: AppserviceStateRow): Promise<Chosen<EventRow>> {
  const chosen: EventRow[] = [];
  let upTo = state.stream_position;
  let scanned = 0;
  while (chosen.length < MAX_EVENTS_PER_TRANSACTION && scanned < MAX_SCAN_PER_BUILD && upTo < state.visible_position) {
    const rows = await eventsAfterPosition(tx, upTo, state.visible_position, SCAN_BATCH);
    if (rows.length === 0) {
      upTo = state.visible_position;
      break;
    }
    const facts = await roomInterestFacts(tx, [...new Set(rows.map((row) => row.room_id))]);
    for (const row of rows) {
      scanned += 1;
      upTo = row.stream_ordering;
      if (isInterested(registration, row, facts)) chosen.push(row);
      if (chosen.length === MAX_EVENTS_PER_TRANSACTION) break;
    }
    if (rows.length < SCAN_BATCH && chosen.length < MAX_EVENTS_PER_TRANSACTION) upTo = state.visible_position;
  }
  return { rows: chosen, upTo, more: upTo < state.visible_position };
}

/** To-device writers commit in position order (they serialise on a lock), so reading up to the current position never skips one. */
async function chooseToDevice(tx: Tx, registration: Registration, state: AppserviceStateRow) {
  const current = await currentToDevicePosition(tx);
  const chosen = [];
  let upTo = state.to_device_position;
  const now = Date.now();
  for (let scanned = 0; chosen.length < MAX_EVENTS_PER_TRANSACTION && scanned < MAX_SCAN_PER_BUILD && upTo < current; ) {
    const rows = await toDeviceMessagesAfter(tx, upTo, current, SCAN_BATCH, now);
    if (rows.length === 0) {
      upTo = current;
      break;
    }
    for (const row of rows) {
      scanned += 1;
      upTo = row.position;
      if (ownsUser(registration, row.recipient_user_id)) chosen.push(row);
      if (chosen.length === MAX_EVENTS_PER_TRANSACTION) break;
    }
    if (rows.length < SCAN_BATCH && chosen.length < MAX_EVENTS_PER_TRANSACTION) upTo = current;
  }
  return { rows: chosen, upTo, more: upTo < current };
}

/** The transaction body, with ephemeral and to-device events under both the stable and the MSC2409 names (matrix-bot-sdk reads only the latter). */
export function transactionBody(transaction: AppserviceTransactionRow): Record<string, unknown> {
  const body: Record<string, unknown> = { ...transaction.extensions, events: transaction.events };
  if (transaction.ephemeral.length > 0) {
    body.ephemeral = transaction.ephemeral;
    body['de.sorunome.msc2409.ephemeral'] = transaction.ephemeral;
  }
  if (transaction.to_device.length > 0) {
    body.to_device = transaction.to_device;
    body['de.sorunome.msc2409.to_device'] = transaction.to_device;
  }
  return body;
}
