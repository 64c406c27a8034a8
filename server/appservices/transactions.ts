import type { AppContext } from '../app-context.ts';
import { toClientEvents } from '../rooms/client-event.ts';
import {
  advanceAppserviceState,
  eventsAfterPosition,
  insertAppserviceTransaction,
  lockAppserviceState,
  pendingTransaction,
  roomInterestFacts,
} from '../storage/queries/appservices.ts';
import type { AppserviceTransactionRow } from '../storage/tables/appservices.ts';
import type { EventRow } from '../storage/tables/rooms.ts';
import { withTransaction } from '../storage/transaction.ts';
import { isInterested } from './interest.ts';
import type { Registration } from './registration.ts';

/** Spec leaves the size open; Synapse sends at most 100 events per transaction, and so do we. */
export const MAX_EVENTS_PER_TRANSACTION = 100;
/** Events read per query while looking for ones the appservice cares about. */
const SCAN_BATCH = 500;
/** Events looked at in one database transaction, so the state row is never locked for long. */
const MAX_SCAN_PER_BUILD = 5_000;

export type NextTransaction =
  | { kind: 'send'; transaction: AppserviceTransactionRow }
  /** Nothing to send yet; `more` when events remain to be looked at. */
  | { kind: 'none'; more: boolean };

/**
 * The transaction to send next: the pending one if a previous attempt was not
 * acknowledged (same txnId, same events: the spec's retry rule), otherwise a
 * new one built from the events after the appservice's position, up to the
 * position the writers announced visible. Built and recorded in one database
 * transaction under the appservice's state row lock, so two runners never
 * build two different transactions.
 */
export async function nextTransaction(app: AppContext, registration: Registration): Promise<NextTransaction> {
  return withTransaction(app.db, async (tx) => {
    const state = await lockAppserviceState(tx, registration.id);
    if (!state) return { kind: 'none', more: false };
    const pending = await pendingTransaction(tx, registration.id);
    if (pending) return { kind: 'send', transaction: pending };

    const chosen: EventRow[] = [];
    let scannedTo = state.stream_position;
    let scanned = 0;
    while (chosen.length < MAX_EVENTS_PER_TRANSACTION && scanned < MAX_SCAN_PER_BUILD && scannedTo < state.visible_position) {
      const rows = await eventsAfterPosition(tx, scannedTo, state.visible_position, SCAN_BATCH);
      if (rows.length === 0) {
        scannedTo = state.visible_position;
        break;
      }
      const facts = await roomInterestFacts(tx, [...new Set(rows.map((row) => row.room_id))]);
      for (const row of rows) {
        scanned += 1;
        scannedTo = row.stream_ordering;
        if (isInterested(registration, row, facts)) chosen.push(row);
        if (chosen.length === MAX_EVENTS_PER_TRANSACTION) break;
      }
      if (rows.length < SCAN_BATCH && chosen.length < MAX_EVENTS_PER_TRANSACTION) scannedTo = state.visible_position;
    }
    const more = scannedTo < state.visible_position;
    if (chosen.length === 0) {
      if (scannedTo > state.stream_position) await advanceAppserviceState(tx, registration.id, { stream_position: scannedTo });
      return { kind: 'none', more };
    }
    const transaction = await insertAppserviceTransaction(tx, {
      appservice_id: registration.id,
      txn_id: state.next_txn_id,
      events: await toClientEvents(tx, chosen, undefined),
      last_position: scannedTo,
    });
    await advanceAppserviceState(tx, registration.id, { stream_position: scannedTo, next_txn_id: state.next_txn_id + 1 });
    return { kind: 'send', transaction };
  });
}

/** The transaction body, with ephemeral and to-device events under both the stable and the MSC2409 names (matrix-bot-sdk reads only the latter). */
export function transactionBody(transaction: AppserviceTransactionRow): Record<string, unknown> {
  const body: Record<string, unknown> = { events: transaction.events };
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
