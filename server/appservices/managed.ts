import type { AppContext } from '../app-context.ts';
import { ErrCode, MatrixError, notFound } from '../errors.ts';
import { deleteManagedRegistration, listManagedRegistrations, upsertManagedRegistration } from '../storage/queries/appservices.ts';
import { parseRegistration, RegistrationError, type Registration } from './registration.ts';
import { validateRegistrationSet } from './registration-set.ts';
import { prepareAppservices } from './setup.ts';

/**
 * Registrations an admin adds, changes and removes at runtime (rows in
 * Postgres, validated together with the files' exactly as at start-up). Files
 * stay the admin's to edit: the API refuses to change an appservice that
 * comes from one. Other processes pick changes up when they load the rows
 * again (at start-up, and on the Redis notice `announceChange` sends).
 */
export async function loadManagedRegistrations(app: AppContext): Promise<void> {
  const rows = await listManagedRegistrations(app.db);
  app.appservices.setManaged(rows.map((row) => parseRegistration(row.registration, `admin API registration ${row.appservice_id}`, app.config.server_name)));
}

export async function putManagedRegistration(app: AppContext, appserviceId: string, raw: Record<string, unknown>): Promise<{ created: boolean }> {
  if (raw.id !== appserviceId) throw new MatrixError(ErrCode.INVALID_PARAM, 'The registration id must be the appserviceId of the path');
  if (app.appservices.isFromFile(appserviceId)) throw fromFile(appserviceId);
  const registration = parseOrRefuse(raw, app.config.server_name);
  const others = app.appservices.all().filter((existing) => existing.id !== appserviceId);
  try {
    validateRegistrationSet([...others, registration]);
  } catch (error) {
    if (error instanceof RegistrationError) throw new MatrixError(ErrCode.INVALID_PARAM, error.message);
    throw error;
  }
  const created = !app.appservices.byId(appserviceId);
  await upsertManagedRegistration(app.db, appserviceId, raw);
  await loadManagedRegistrations(app);
  await prepareAppservices(app);
  await app.appservices.announceChange();
  return { created };
}

export async function removeManagedRegistration(app: AppContext, appserviceId: string): Promise<void> {
  if (app.appservices.isFromFile(appserviceId)) throw fromFile(appserviceId);
  if (!(await deleteManagedRegistration(app.db, appserviceId))) throw notFound(`No appservice ${appserviceId} was added through the admin API`);
  await loadManagedRegistrations(app);
  await app.appservices.announceChange();
}

/** What an admin sees of a registration: never its tokens. */
export function describeRegistration(app: AppContext, registration: Registration): Record<string, unknown> {
  const rules = (list: Registration['namespaces']['users']) => list.map((rule) => ({ regex: rule.source, exclusive: rule.exclusive }));
  return {
    id: registration.id,
    url: registration.url,
    sender: registration.senderUserId,
    source: app.appservices.isFromFile(registration.id) ? 'file' : 'admin_api',
    namespaces: { users: rules(registration.namespaces.users), aliases: rules(registration.namespaces.aliases), rooms: rules(registration.namespaces.rooms) },
    rate_limited: registration.rateLimited,
    protocols: registration.protocols,
    receive_ephemeral: registration.receiveEphemeral,
  };
}

function parseOrRefuse(raw: unknown, serverName: string): Registration {
  try {
    return parseRegistration(raw, 'registration', serverName);
  } catch (error) {
    if (error instanceof RegistrationError) throw new MatrixError(ErrCode.BAD_JSON, error.message);
    throw error;
  }
}

const fromFile = (id: string) => new MatrixError(ErrCode.FORBIDDEN, `Appservice ${id} comes from app_service_config_files; change its file and send SIGHUP`);
