import type { AppContext } from '../app-context.ts';
import { ensureAppserviceState, ensureAppserviceUser } from '../storage/queries/appservices.ts';

/** Each appservice's sender user and delivery state exist (new appservices start at the current stream position). */
export async function prepareAppservices(app: AppContext): Promise<void> {
  const registrations = app.appservices.all();
  for (const registration of registrations) await ensureAppserviceUser(app.db, registration.senderUserId, registration.id);
  await ensureAppserviceState(app.db, registrations.map((registration) => registration.id), app.roomEvents.currentPosition());
}
