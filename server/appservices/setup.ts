import type { AppContext } from '../app-context.ts';
import { ensureAppserviceState, ensureAppserviceUser } from '../storage/queries/appservices.ts';

/** Each appservice's sender user and delivery state exist (new appservices start at the current stream position). */
export async function prepareAppservices(app: AppContext): Promise<void> {
  const registrations = app.appservices.all();
  for (const registration of registrations) await ensureAppserviceUser(app.db, registration.senderUserId, registration.id);
  await ensureAppserviceState(app.db, registrations.map((registration) => registration.id), app.roomEvents.currentPosition());
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
