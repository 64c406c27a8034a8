import type { AppContext } from '../app-context.ts';
import { announceVisiblePosition } from '../storage/queries/appservices.ts';
import { wakeDelivery } from './delivery-job.ts';

/**
 * The writer side of delivery, in API processes: when room events become
 * visible, record the position in Postgres (so a delivery run anywhere reads
 * exactly up to there, and so it survives a lost job) and wake each
 * appservice's delivery job. Coalesced: a burst of events is one update and
 * one wake-up per appservice while the previous one is still under way.
 */
export function followRoomEventsForAppservices(app: AppContext): void {
  let latest = 0;
  let running = false;
  app.roomEvents.onVisible((position) => {
    if (app.appservices.all().length === 0) return;
    latest = Math.max(latest, position);
    if (running) return;
    running = true;
    void (async () => {
      try {
        for (let announced = 0; announced < latest; ) {
          announced = latest;
          await announceVisiblePosition(app.db, announced);
          for (const registration of app.appservices.all()) if (registration.url) await wakeDelivery(app, registration.id);
        }
      } catch (error) {
        // The sweep job wakes delivery again within a minute; nothing is lost, only delayed.
        app.logger.warn({ err: error }, 'could not announce room events to appservice delivery');
      } finally {
        running = false;
      }
    })();
  });
}
