import type { Logger } from 'pino';
import type { JobQueue } from '../jobs/job-queue.ts';
import type { Queryable } from '../storage/database.ts';
import { deleteExpiredToDeviceMessages } from './to-device.ts';

export const TO_DEVICE_EXPIRY_JOB = 'e2ee.to-device-expiry';
/** Expired messages are already never delivered; this only reclaims their rows. */
export const TO_DEVICE_EXPIRY_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Drops undelivered to-device messages past `to_device_message_lifetime`, once
 * an hour (scheduled by `defineJobs`). Logs counts only, never content.
 */
export async function scheduleToDeviceExpiry(queue: JobQueue, db: Queryable, logger: Logger): Promise<void> {
  queue.define<Record<string, never>>({
    name: TO_DEVICE_EXPIRY_JOB,
    concurrency: 1,
    async handle() {
      const dropped = await deleteExpiredToDeviceMessages(db);
      if (dropped.messages > 0 || dropped.transactions > 0) logger.info(dropped, 'expired to-device messages dropped');
    },
  });
  await queue.every(TO_DEVICE_EXPIRY_JOB, TO_DEVICE_EXPIRY_INTERVAL_MS, {});
}
