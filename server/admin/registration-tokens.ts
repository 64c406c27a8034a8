import { randomInt } from 'node:crypto';
import type { AppContext } from '../app-context.ts';
import { invalidParam, notFound } from '../errors.ts';
import { findRegistrationToken, insertRegistrationToken } from '../storage/queries/registration-tokens.ts';
import { deleteRegistrationToken, listRegistrationTokens, updateRegistrationToken } from '../storage/queries/registration-token-admin.ts';
import type { RegistrationTokenRow } from '../storage/tables/registration.ts';
import { inTransaction } from '../storage/in-transaction.ts';
import { recordAdminAction } from './admin-audit.ts';

/**
 * Registration tokens (m.login.registration_token) for server admins, with
 * Synapse's rules: a token is 1-64 characters of [A-Za-z0-9._~-], generated
 * when not given (16 characters by default); `uses_allowed` null is unlimited,
 * `expiry_time` (ms since the epoch) null never expires and cannot be in the past.
 */
export const MAX_TOKEN_LENGTH = 64;
export const DEFAULT_TOKEN_LENGTH = 16;
export const TOKEN_PATTERN = /^[A-Za-z0-9._~-]+$/;
/** Most uses one token may allow (Postgres integer). */
export const MAX_USES_ALLOWED = 2_147_483_647;
const GENERATED_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function tokenJson(row: RegistrationTokenRow) {
  return { token: row.token, uses_allowed: row.uses_allowed, pending: row.pending, completed: row.completed, expiry_time: row.expiry_time };
}

export interface NewRegistrationToken {
  token?: string;
  uses_allowed?: number | null;
  expiry_time?: number | null;
  length?: number;
}

export async function createRegistrationToken(app: AppContext, actor: string, request: NewRegistrationToken): Promise<RegistrationTokenRow> {
  const now = Date.now();
  if (request.token !== undefined && request.length !== undefined) throw invalidParam('Give either token or length, not both');
  if (request.token !== undefined) checkToken(request.token);
  checkUsesAllowed(request.uses_allowed);
  checkExpiry(request.expiry_time, now);
  const token = request.token ?? generateToken(request.length ?? DEFAULT_TOKEN_LENGTH);
  const row = { token, uses_allowed: request.uses_allowed ?? null, expiry_time: request.expiry_time ?? null, created_ts: now };
  return inTransaction(app.db, async (tx) => {
    try {
      await insertRegistrationToken(tx, row);
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw invalidParam(`The token ${token} already exists`);
      throw error;
    }
    await recordAdminAction(tx, { actor, action: 'registration_token.create', target_type: 'registration_token', target: token, before: null, after: { uses_allowed: row.uses_allowed, expiry_time: row.expiry_time } });
    return { ...row, pending: 0, completed: 0 };
  });
}

export async function listTokens(app: AppContext, valid: boolean | undefined) {
  return { registration_tokens: (await listRegistrationTokens(app.db, valid, Date.now())).map(tokenJson) };
}

export async function requireRegistrationToken(app: AppContext, token: string): Promise<RegistrationTokenRow> {
  const row = TOKEN_PATTERN.test(token) ? await findRegistrationToken(app.db, token) : undefined;
  if (!row) throw notFound(`There is no registration token ${token}`);
  return row;
}

/** Changes how often a token may be used and until when; fields not given stay. */
export async function updateToken(app: AppContext, actor: string, token: string, changes: { uses_allowed?: number | null; expiry_time?: number | null }): Promise<RegistrationTokenRow> {
  checkUsesAllowed(changes.uses_allowed);
  checkExpiry(changes.expiry_time, Date.now());
  return changeToken(app, actor, token, 'registration_token.update', changes);
}

/** Makes a token unusable from now on, keeping it (and its use counts) for the record. */
export async function expireToken(app: AppContext, actor: string, token: string): Promise<RegistrationTokenRow> {
  return changeToken(app, actor, token, 'registration_token.expire', { expiry_time: Date.now() });
}

export async function deleteToken(app: AppContext, actor: string, token: string): Promise<void> {
  await inTransaction(app.db, async (tx) => {
    const removed = TOKEN_PATTERN.test(token) ? await deleteRegistrationToken(tx, token) : undefined;
    if (!removed) throw notFound(`There is no registration token ${token}`);
    await recordAdminAction(tx, { actor, action: 'registration_token.delete', target_type: 'registration_token', target: token, before: tokenJson(removed), after: null });
  });
}

async function changeToken(
  app: AppContext,
  actor: string,
  token: string,
  action: 'registration_token.update' | 'registration_token.expire',
  changes: { uses_allowed?: number | null; expiry_time?: number | null },
): Promise<RegistrationTokenRow> {
  return inTransaction(app.db, async (tx) => {
    const before = TOKEN_PATTERN.test(token) ? await tx.selectFrom('registration_tokens').selectAll().where('token', '=', token).forUpdate().executeTakeFirst() : undefined;
    if (!before) throw notFound(`There is no registration token ${token}`);
    const after = (await updateRegistrationToken(tx, token, changes))!;
    if (JSON.stringify(tokenJson(before)) === JSON.stringify(tokenJson(after))) return after;
    await recordAdminAction(tx, { actor, action, target_type: 'registration_token', target: token, before: tokenJson(before), after: tokenJson(after) });
    return after;
  });
}

function checkToken(token: string): void {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || !TOKEN_PATTERN.test(token)) {
    throw invalidParam(`token must be 1 to ${MAX_TOKEN_LENGTH} characters of A-Z, a-z, 0-9 and . _ ~ -`);
  }
}

function checkUsesAllowed(uses: number | null | undefined): void {
  if (uses !== undefined && uses !== null && (uses < 0 || uses > MAX_USES_ALLOWED)) throw invalidParam(`uses_allowed must be an integer from 0 to ${MAX_USES_ALLOWED}, or null`);
}

function checkExpiry(expiry: number | null | undefined, now: number): void {
  if (expiry === undefined || expiry === null) return;
  if (expiry < now) throw invalidParam('expiry_time cannot be in the past');
  if (expiry > Number.MAX_SAFE_INTEGER) throw invalidParam('expiry_time is too far in the future');
}

function generateToken(length: number): string {
  if (!Number.isInteger(length) || length < 1 || length > MAX_TOKEN_LENGTH) throw invalidParam(`length must be an integer from 1 to ${MAX_TOKEN_LENGTH}`);
  let token = '';
  for (let i = 0; i < length; i++) token += GENERATED_ALPHABET[randomInt(GENERATED_ALPHABET.length)];
  return token;
}
