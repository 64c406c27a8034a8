import type { AppContext } from '../app-context.ts';
import { hashToken } from '../accounts/tokens.ts';
import type { Caller } from '../http/auth.ts';
import { ErrCode, MatrixError, invalidParam } from '../errors.ts';
import { withTransaction } from '../storage/transaction.ts';
import { countPushersOfUser, deleteOtherUsersPushers, deletePusher, pushersOfUser, upsertPusher } from '../storage/queries/push.ts';
import type { PusherRow } from '../storage/tables/push.ts';

/** Pushers one user may have (one per app per device is the norm). */
export const MAX_PUSHERS_PER_USER = 20;
/** The one path a push gateway listens on (spec: Push Gateway API). */
export const NOTIFY_PATH = '/_matrix/push/v1/notify';

export interface PusherInput {
  kind: string | null;
  app_id: string;
  pushkey: string;
  app_display_name?: string;
  device_display_name?: string;
  profile_tag?: string;
  lang?: string;
  data?: Record<string, unknown>;
  append?: boolean;
}

/** Spec: Pusher, as GET /pushers lists it. */
export function pusherJson(row: PusherRow) {
  return {
    pushkey: row.pushkey,
    kind: row.kind,
    app_id: row.app_id,
    app_display_name: row.app_display_name,
    device_display_name: row.device_display_name,
    ...(row.profile_tag !== null ? { profile_tag: row.profile_tag } : {}),
    lang: row.lang,
    data: row.data,
  };
}

export async function listPushers(app: AppContext, userId: string) {
  return (await pushersOfUser(app.db, userId)).map(pusherJson);
}

/**
 * POST /pushers/set: `kind: null` deletes the caller's pusher for
 * (app_id, pushkey); otherwise creates or replaces it, owned by the caller's
 * access token (so it goes when the token or device does). Only `http`
 * pushers are supported; their URL must be https (or http to a configured
 * host) with the spec's notify path.
 */
export async function setPusher(app: AppContext, caller: Caller, input: PusherInput): Promise<void> {
  if (input.kind === null) {
    await deletePusher(app.db, caller.userId, input.app_id, input.pushkey);
    return;
  }
  if (input.kind !== 'http') throw invalidParam(`Pusher kind ${JSON.stringify(input.kind.slice(0, 32))} is not supported (only "http")`);
  const missing = (['app_display_name', 'device_display_name', 'lang', 'data'] as const).filter((key) => input[key] === undefined);
  if (missing.length) throw new MatrixError(ErrCode.MISSING_PARAM, `Missing parameters: ${missing.join(', ')}`);
  checkGatewayUrl(app, input.data!.url);
  if (input.data!.format !== undefined && input.data!.format !== 'event_id_only') throw invalidParam('data.format must be "event_id_only" when given');
  await withTransaction(app.db, async (tx) => {
    const existing = await pushersOfUser(tx, caller.userId);
    const replaces = existing.some((row) => row.app_id === input.app_id && row.pushkey === input.pushkey);
    if (!replaces && (await countPushersOfUser(tx, caller.userId)) >= MAX_PUSHERS_PER_USER) {
      throw new MatrixError(ErrCode.LIMIT_EXCEEDED, `At most ${MAX_PUSHERS_PER_USER} pushers per user; remove one first`);
    }
    if (!input.append) await deleteOtherUsersPushers(tx, input.app_id, input.pushkey, caller.userId);
    await upsertPusher(tx, {
      user_id: caller.userId,
      access_token_hash: hashToken(caller.accessToken),
      device_id: caller.deviceId,
      kind: input.kind!,
      app_id: input.app_id,
      pushkey: input.pushkey,
      pushkey_ts: Date.now(),
      app_display_name: input.app_display_name!,
      device_display_name: input.device_display_name!,
      profile_tag: input.profile_tag ?? null,
      lang: input.lang!,
      data: input.data!,
    });
  });
}

/** Spec: an https URL with path /_matrix/push/v1/notify; plain http only to hosts the admin allowed. No credentials in it. */
export function checkGatewayUrl(app: AppContext, value: unknown): URL {
  if (typeof value !== 'string') throw invalidParam('data.url is required for http pushers');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidParam('data.url is not a valid URL');
  }
  const httpAllowed = url.protocol === 'http:' && app.config.push.allowed_http_gateway_hosts.includes(url.hostname);
  if (url.protocol !== 'https:' && !httpAllowed) throw invalidParam('data.url must be an https URL');
  if (url.username !== '' || url.password !== '') throw invalidParam('data.url must not contain credentials');
  if (url.pathname !== NOTIFY_PATH) throw invalidParam(`data.url must have the path ${NOTIFY_PATH}`);
  return url;
}
