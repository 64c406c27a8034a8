import { ErrCode, MatrixError } from '../errors.ts';

/** The spec's historical-free grammar for new localparts: a-z 0-9 . _ = - / + */
const LOCALPART = /^[a-z0-9._=\-/+]+$/;
/** User IDs, including the leading @ and the server name, are at most 255 bytes. */
export const MAX_USER_ID_LENGTH = 255;

export function userIdFor(localpart: string, serverName: string): string {
  return `@${localpart}:${serverName}`;
}

/** Checks a requested username and returns the user ID it makes, or throws M_INVALID_USERNAME. */
export function validateNewLocalpart(localpart: string, serverName: string): string {
  if (localpart.length === 0) throw new MatrixError(ErrCode.INVALID_USERNAME, 'Username cannot be empty');
  if (!LOCALPART.test(localpart)) {
    throw new MatrixError(
      ErrCode.INVALID_USERNAME,
      'Username may only contain lower-case letters, digits and the characters . _ = - / +',
    );
  }
  const userId = userIdFor(localpart, serverName);
  if (Buffer.byteLength(userId) > MAX_USER_ID_LENGTH) {
    throw new MatrixError(ErrCode.INVALID_USERNAME, `User ID cannot be longer than ${MAX_USER_ID_LENGTH} characters`);
  }
  return userId;
}

/** Accepts a full user ID or a bare localpart, as the login identifier allows. */
export function resolveUserIdentifier(user: string, serverName: string): string {
  const trimmed = user.trim();
  const full = trimmed.startsWith('@') ? trimmed : userIdFor(trimmed, serverName);
  // Logins are case-insensitive on the localpart, as in Synapse.
  const separator = full.indexOf(':');
  return separator === -1 ? full.toLowerCase() : full.slice(0, separator).toLowerCase() + full.slice(separator);
}

export function serverNameOf(userId: string): string {
  return userId.slice(userId.indexOf(':') + 1);
}
