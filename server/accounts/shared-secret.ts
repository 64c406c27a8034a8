import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AppContext } from '../app-context.ts';
import { ErrCode, MatrixError, forbidden } from '../errors.ts';
import { registerAccount, type RegistrationResult } from './registration.ts';

/** Synapse forgets nonces after a minute. */
const NONCE_LIFETIME_MS = 60_000;

export async function createRegistrationNonce(app: AppContext): Promise<string> {
  const now = Date.now();
  await app.db.deleteFrom('registration_nonces').where('created_ts', '<', now - NONCE_LIFETIME_MS).execute();
  const nonce = randomBytes(24).toString('hex');
  await app.db.insertInto('registration_nonces').values({ nonce, created_ts: now }).execute();
  return nonce;
}

export interface SharedSecretRegistration {
  nonce: string;
  username: string;
  password: string;
  admin: boolean;
  user_type?: string | null;
  displayname?: string;
  mac: string;
}

/**
 * Synapse's `/_synapse/admin/v1/register`: HMAC-SHA1 over
 * nonce NUL username NUL password NUL "admin"|"notadmin" [NUL user_type],
 * keyed with the registration shared secret. Each nonce works once.
 */
export async function registerWithSharedSecret(app: AppContext, request: SharedSecretRegistration): Promise<RegistrationResult & { home_server: string }> {
  const consumed = await app.db
    .deleteFrom('registration_nonces')
    .where('nonce', '=', request.nonce)
    .where('created_ts', '>=', Date.now() - NONCE_LIFETIME_MS)
    .returning('nonce')
    .executeTakeFirst();
  if (!consumed) throw new MatrixError(ErrCode.UNKNOWN, 'Unrecognised nonce', { status: 400 });

  const parts = [request.nonce, request.username, request.password, request.admin ? 'admin' : 'notadmin'];
  if (request.user_type) parts.push(request.user_type);
  const expected = createHmac('sha1', app.registrationSharedSecret).update(parts.join('\0')).digest();
  const given = Buffer.from(request.mac, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw forbidden('HMAC incorrect');

  const result = await registerAccount(app, { username: request.username.toLowerCase(), password: request.password, admin: request.admin, ip: null });
  if (request.displayname) {
    await app.db.updateTable('users').set({ displayname: request.displayname }).where('user_id', '=', result.user_id).execute();
  }
  return { ...result, home_server: app.config.server_name };
}

/** The MAC a client computes; used by `npm run register-user`. */
export function registrationMac(secret: string, nonce: string, username: string, password: string, admin: boolean): string {
  return createHmac('sha1', secret).update([nonce, username, password, admin ? 'admin' : 'notadmin'].join('\0')).digest('hex');
}
