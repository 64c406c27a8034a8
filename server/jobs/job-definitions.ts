import type { AppContext } from '../app-context.ts';
import { scheduleToDeviceExpiry } from '../e2ee/expiry-job.ts';
import { defineDeliveryJobs } from '../appservices/delivery-job.ts';
import { scheduleMediaCleanup } from '../media/cleanup.ts';
import { definePushEvaluation } from '../push/evaluate-job.ts';
import { definePushSending } from '../push/send-job.ts';
import { schedulePushPrune } from '../push/prune-job.ts';
import { scheduleRetention } from '../channels/retention.ts';

/**
 * Defines every job (and schedules the periodic ones). Both API processes and
 * workers call it: API processes so that what they enqueue carries the job's
 * retry settings, workers so that they can run the handlers.
 */
export async function defineJobs(app: AppContext): Promise<void> {
  await scheduleToDeviceExpiry(app.jobs, app.db, app.logger);
  await defineDeliveryJobs(app);
  await scheduleMediaCleanup(app.jobs, app);
  definePushEvaluation(app);
  definePushSending(app);
  await schedulePushPrune(app);
  await scheduleRetention(app.jobs, app);
}
