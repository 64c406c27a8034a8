import type { AppContext } from '../app-context.ts';
import { deleteNotificationsBefore } from '../storage/queries/push.ts';

export const PUSH_PRUNE_JOB = 'push.prune';
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;
/** /notifications keeps a month (as Synapse does); older rows only grow the table. */
export const NOTIFICATION_RETENTION_MS = 30 * 24 * 3_600_000;

/** Deletes notifications older than the retention, once an hour. Logs counts only. */
export async function schedulePushPrune(app: AppContext): Promise<void> {
  app.jobs.define<Record<string, never>>({
    name: PUSH_PRUNE_JOB,
    concurrency: 1,
    async handle() {
      const deleted = await deleteNotificationsBefore(app.db, Date.now() - NOTIFICATION_RETENTION_MS);
      if (deleted > 0) app.logger.info({ deleted }, 'old push notifications deleted');
    },
  });
  await app.jobs.every(PUSH_PRUNE_JOB, PRUNE_INTERVAL_MS, {});
}
