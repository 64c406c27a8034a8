import type { AppContext } from '../app-context.ts';
import { committedEphemeralHeads, ensureAppserviceState, ensureAppserviceUser } from '../storage/queries/appservices.ts';
import { currentToDevicePosition } from '../storage/queries/to-device.ts';
import { currentDeviceListPosition } from '../e2ee/device-list-stream.ts';

/** Each appservice's sender user and delivery state exist (new appservices start at the current stream position). */
export async function prepareAppservices(app: AppContext): Promise<void> {
  for (const registration of app.appservices.all()) await ensureAppserviceUser(app.db, registration.senderUserId, registration.id);
  await ensureDeliveryState(app);
}

/** A delivery state row for each appservice that has none, at the current position of every stream it is sent. */
export async function ensureDeliveryState(app: AppContext): Promise<void> {
  const toDevice = await app.db.transaction().execute((tx) => currentToDevicePosition(tx));
  // In a worker the receipt and presence streams stand where they were at its start: the database knows better.
  const committed = await committedEphemeralHeads(app.db);
  await ensureAppserviceState(
    app.db,
    app.appservices.all().map((registration) => registration.id),
    {
      room: app.roomEvents.currentPosition(),
      toDevice,
      receipt: Math.max(app.receiptStream.currentPosition(), committed.receipt),
      presence: Math.max(app.presenceStream.currentPosition(), committed.presence),
      deviceList: await currentDeviceListPosition(app.db),
    },
  );
}

/**
 * Re-reads `app_service_config_files` and installs the new set if it is valid
 * (otherwise the old set stays and the error is thrown). New appservices get
 * their sender user and delivery state; removed ones keep their rows (their
 * pending transactions resume if they come back). This process only: other
 * processes reload on their own signal.
 */
export async function reloadAppservices(app: AppContext): Promise<void> {
  app.appservices.reload();
  await prepareAppservices(app);
}
