import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AppContext } from '../app-context.ts';
import { ErrCode, MatrixError, UiaRequired } from '../errors.ts';
import { findUser } from '../storage/queries/users.ts';
import { reserveRegistrationToken } from '../storage/queries/registration-tokens.ts';
import { verifyPassword } from './passwords.ts';
import { resolveUserIdentifier } from './user-ids.ts';

/** The `auth` dict a client sends to continue user-interactive authentication. */
export const UiaAuth = z.looseObject({
  type: z.string().optional(),
  session: z.string().max(128).optional(),
});
export type UiaAuth = z.infer<typeof UiaAuth>;

/** Sessions expire after an hour; a registration token held by an expired session is released. */
const SESSION_LIFETIME_MS = 60 * 60 * 1000;

export interface UiaRequest {
  /** Method and path: a session started for one request cannot authorise another. */
  requestKey: string;
  flows: string[][];
  params?: Record<string, unknown>;
  /** For stages that prove who the caller is (password): the account they must prove. */
  userId?: string;
  auth: UiaAuth | undefined;
}

export interface UiaOutcome {
  sessionId: string;
  results: Record<string, unknown>;
}

/**
 * Runs one step of user-interactive auth. Returns when a flow is complete;
 * otherwise throws the 401 that tells the client what is left.
 */
export async function requireUia(app: AppContext, request: UiaRequest): Promise<UiaOutcome> {
  const now = Date.now();
  await pruneExpiredSessions(app, now);
  const session = request.auth?.session
    ? await loadSession(app, request.auth.session, request.requestKey, request.userId ?? null)
    : await createSession(app, request.requestKey, request.userId ?? null, now);
  const challenge = (extra: Record<string, unknown> = {}) =>
    new UiaRequired({ flows: request.flows.map((stages) => ({ stages })), params: request.params ?? {}, session: session.session_id, completed: session.completed, ...extra });

  const stage = request.auth?.type;
  if (!stage) throw challenge();
  if (!request.flows.some((flow) => flow.includes(stage))) {
    throw challenge({ errcode: ErrCode.UNRECOGNIZED, error: `Authentication stage ${stage} is not offered here` });
  }
  const failure = await attemptStage(app, stage, request, session.results, now);
  if (failure) throw challenge({ errcode: failure.errcode, error: failure.error });

  const completed = session.completed.includes(stage) ? session.completed : [...session.completed, stage];
  await app.db
    .updateTable('uia_sessions')
    .set({ completed: JSON.stringify(completed) as never, results: JSON.stringify(session.results) as never })
    .where('session_id', '=', session.session_id)
    .execute();
  if (!request.flows.some((flow) => flow.every((required) => completed.includes(required)))) {
    throw new UiaRequired({ flows: request.flows.map((stages) => ({ stages })), params: request.params ?? {}, session: session.session_id, completed });
  }
  return { sessionId: session.session_id, results: session.results };
}

/** Ends a session once the request it authorised has succeeded. */
export async function finishUia(app: AppContext, sessionId: string): Promise<void> {
  await app.db.deleteFrom('uia_sessions').where('session_id', '=', sessionId).execute();
}

type Failure = { errcode: string; error: string } | null;

async function attemptStage(app: AppContext, stage: string, request: UiaRequest, results: Record<string, unknown>, now: number): Promise<Failure> {
  const auth = request.auth as Record<string, unknown>;
  switch (stage) {
    case 'm.login.dummy':
      return null;
    case 'm.login.password':
      return checkPassword(app, auth, request.userId);
    case 'm.login.registration_token': {
      if (typeof auth.token !== 'string' || auth.token.length > 64) return { errcode: ErrCode.MISSING_PARAM, error: 'Missing registration token' };
      if (results.registration_token === auth.token) return null;
      if (results.registration_token !== undefined) return { errcode: ErrCode.FORBIDDEN, error: 'This session already used a registration token' };
      if (!(await reserveRegistrationToken(app.db, auth.token, now))) {
        return { errcode: ErrCode.UNAUTHORIZED, error: 'Invalid registration token' };
      }
      results.registration_token = auth.token;
      return null;
    }
    default:
      return { errcode: ErrCode.UNRECOGNIZED, error: `Unknown authentication stage ${stage}` };
  }
}

async function checkPassword(app: AppContext, auth: Record<string, unknown>, userId: string | undefined): Promise<Failure> {
  const identifier = auth.identifier as { type?: unknown; user?: unknown } | undefined;
  const claimed = identifier?.type === 'm.id.user' && typeof identifier.user === 'string' ? identifier.user : auth.user;
  if (typeof claimed !== 'string' || typeof auth.password !== 'string') {
    return { errcode: ErrCode.MISSING_PARAM, error: 'Password authentication needs identifier.user and password' };
  }
  const claimedId = resolveUserIdentifier(claimed, app.config.server_name);
  const user = await findUser(app.db, claimedId);
  if (!user?.password_hash || !(await verifyPassword(auth.password, user.password_hash))) {
    return { errcode: ErrCode.FORBIDDEN, error: 'Invalid password' };
  }
  // Valid credentials of someone other than the caller: a plain 403, not another challenge (as Synapse answers,
  // and Complement's TestDeviceManagement expects); the session records nothing.
  if (userId && claimedId !== userId) throw new MatrixError(ErrCode.FORBIDDEN, 'You can only authenticate as yourself', { status: 403 });
  return null;
}

interface SessionState {
  session_id: string;
  completed: string[];
  results: Record<string, unknown>;
}

async function createSession(app: AppContext, requestKey: string, userId: string | null, now: number): Promise<SessionState> {
  const sessionId = randomBytes(18).toString('base64url');
  await app.db
    .insertInto('uia_sessions')
    .values({ session_id: sessionId, request_key: requestKey, user_id: userId, completed: '[]' as never, results: '{}' as never, created_ts: now })
    .execute();
  return { session_id: sessionId, completed: [], results: {} };
}

async function loadSession(app: AppContext, sessionId: string, requestKey: string, userId: string | null): Promise<SessionState> {
  const row = await app.db.selectFrom('uia_sessions').selectAll().where('session_id', '=', sessionId).executeTakeFirst();
  if (!row) throw new MatrixError(ErrCode.UNKNOWN, 'Unknown or expired authentication session', { status: 400 });
  if (row.request_key !== requestKey) {
    throw new MatrixError(ErrCode.FORBIDDEN, 'This authentication session was started for a different request');
  }
  // A session belongs to the account that started it; another user cannot continue it.
  if (row.user_id !== userId) throw new MatrixError(ErrCode.FORBIDDEN, 'This authentication session belongs to another user');
  return { session_id: row.session_id, completed: row.completed, results: row.results };
}

async function pruneExpiredSessions(app: AppContext, now: number): Promise<void> {
  const expired = await app.db
    .deleteFrom('uia_sessions')
    .where('created_ts', '<', now - SESSION_LIFETIME_MS)
    .returning('results')
    .execute();
  for (const { results } of expired) {
    if (typeof results.registration_token === 'string') {
      await app.db
        .updateTable('registration_tokens')
        .set((eb) => ({ pending: eb('pending', '-', 1) }))
        .where('token', '=', results.registration_token)
        .where('pending', '>', 0)
        .execute();
    }
  }
}
