import { ErrCode, MatrixError, tooLarge } from '../errors.ts';
import type { Queryable } from '../storage/database.ts';
import { inTransaction } from '../storage/in-transaction.ts';
import {
  claimToDeviceTxn,
  currentToDevicePosition as readCurrentPosition,
  deleteExpired,
  deleteToDeviceMessagesUpTo,
  insertToDeviceMessages,
  listToDeviceMessages,
  lockDevicesOf,
} from '../storage/queries/to-device.ts';
import type { NewToDeviceMessageRow } from '../storage/tables/e2ee.ts';
import { serverOf } from './federation-failures.ts';

/** Recipients (user, device) in one request; `*` counts once per user here, then fans out. */
export const MAX_TO_DEVICE_RECIPIENTS = 10_000;
/** One message's content as JSON; an Olm-encrypted room key is a few KiB. */
export const MAX_TO_DEVICE_CONTENT_BYTES = 64 * 1024;
/** A whole request: recipients × content, above the default JSON body limit. */
export const MAX_TO_DEVICE_BODY_BYTES = 16 * 1024 * 1024;
/** The spec recommends at most 100 to-device messages per /sync response. */
export const DEFAULT_TO_DEVICE_BATCH = 100;

export interface ToDeviceSend {
  senderUserId: string;
  senderDeviceId: string;
  eventType: string;
  txnId: string;
  messages: Record<string, Record<string, Record<string, unknown>>>;
}

/** Who got a message: whom /sync should wake once the transaction committed (the call has returned). */
export interface ToDeviceRecipient {
  userId: string;
  deviceId: string;
}

/** What a send wrote: the recipients and the highest stream position (0 when nothing was written). */
export interface ToDeviceSent {
  recipients: ToDeviceRecipient[];
  position: number;
}

export interface ToDeviceMessage {
  position: number;
  sender: string;
  type: string;
  content: Record<string, unknown>;
}

/**
 * PUT /sendToDevice/{eventType}/{txnId}: puts one message per recipient
 * device in its inbox, kept until delivered or `lifetimeMs` passes.
 * Idempotent per (sender device, event type, txnId). `*` means every device
 * of the user. Unknown local users and devices are skipped (as Synapse does);
 * users on other servers are refused until federation exists. Never logs content.
 */
export async function sendToDevice(db: Queryable, serverName: string, send: ToDeviceSend, lifetimeMs: number, now = Date.now()): Promise<ToDeviceSent> {
  const remote = Object.keys(send.messages).filter((userId) => serverOf(userId) !== serverName);
  if (remote.length > 0) {
    throw new MatrixError(ErrCode.FORBIDDEN, `Cannot send to users on other servers (${remote.slice(0, 3).join(', ')}): this server does not federate yet`);
  }
  let recipients = 0;
  for (const devices of Object.values(send.messages)) {
    for (const [deviceId, content] of Object.entries(devices)) {
      recipients += 1;
      if (deviceId.length === 0) throw new MatrixError(ErrCode.INVALID_PARAM, 'Device IDs in messages must not be empty');
      if (JSON.stringify(content).length > MAX_TO_DEVICE_CONTENT_BYTES) {
        throw tooLarge(`The message to ${deviceId} is larger than ${MAX_TO_DEVICE_CONTENT_BYTES} bytes`);
      }
    }
  }
  if (recipients > MAX_TO_DEVICE_RECIPIENTS) throw tooLarge(`At most ${MAX_TO_DEVICE_RECIPIENTS} recipient devices per request`);

  const expires = now + lifetimeMs;
  return inTransaction(db, async (tx) => {
    const fresh = await claimToDeviceTxn(tx, {
      sender_user_id: send.senderUserId,
      sender_device_id: send.senderDeviceId,
      event_type: send.eventType,
      txn_id: send.txnId,
      expires_ts: expires,
    });
    if (!fresh) return { recipients: [], position: 0 };
    const devices = await lockDevicesOf(tx, Object.keys(send.messages));
    const rows: NewToDeviceMessageRow[] = [];
    for (const { user_id, device_id } of devices) {
      const forUser = send.messages[user_id];
      const content = forUser[device_id] ?? forUser['*'];
      if (!content) continue;
      rows.push({
        recipient_user_id: user_id,
        recipient_device_id: device_id,
        sender_user_id: send.senderUserId,
        sender_device_id: send.senderDeviceId,
        event_type: send.eventType,
        content: JSON.stringify(content),
        created_ts: now,
        expires_ts: expires,
      });
    }
    const position = await insertToDeviceMessages(tx, rows);
    return { recipients: rows.map((row) => ({ userId: row.recipient_user_id, deviceId: row.recipient_device_id })), position };
  });
}

/**
 * For /sync: the device's pending messages after `fromPosition` (and at or
 * below `uptoPosition`, the token being issued), oldest first, at most
 * `limit`, expired ones left out. Nothing is deleted: the next /sync
 * acknowledges with `deleteAcknowledgedToDeviceMessages`.
 */
export async function takeToDeviceMessages(
  db: Queryable,
  userId: string,
  deviceId: string,
  fromPosition: number,
  limit = DEFAULT_TO_DEVICE_BATCH,
  now = Date.now(),
  uptoPosition?: number,
): Promise<ToDeviceMessage[]> {
  const rows = await listToDeviceMessages(db, userId, deviceId, fromPosition, limit, now, uptoPosition);
  return rows.map((row) => ({ position: row.position, sender: row.sender_user_id, type: row.event_type, content: row.content }));
}

/** For /sync: the client has the messages up to `uptoPosition` (it sent back a token past them). */
export async function deleteAcknowledgedToDeviceMessages(db: Queryable, userId: string, deviceId: string, uptoPosition: number): Promise<number> {
  return deleteToDeviceMessagesUpTo(db, userId, deviceId, uptoPosition);
}

/** For a periodic job: drops messages (and remembered transaction IDs) past their expiry. */
export async function deleteExpiredToDeviceMessages(db: Queryable, now = Date.now()): Promise<{ messages: number; transactions: number }> {
  return deleteExpired(db, now);
}

/** For /sync tokens: the to-device stream's current position (every message at or below it is committed). */
export async function currentToDevicePosition(db: Queryable): Promise<number> {
  return inTransaction(db, (tx) => readCurrentPosition(tx));
}
