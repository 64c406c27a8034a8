import type { Queryable } from '../database.ts';

export interface TokenOwner {
  user_id: string;
  device_id: string;
  is_admin: boolean;
  deactivated: boolean;
  appservice_id: string | null;
  last_seen_ts: number | null;
}

export async function insertAccessToken(db: Queryable, tokenHash: Buffer, userId: string, deviceId: string, now: number) {
  await db.insertInto('access_tokens').values({ token_hash: tokenHash, user_id: userId, device_id: deviceId, created_ts: now }).execute();
}

export async function findTokenOwner(db: Queryable, tokenHash: Buffer): Promise<TokenOwner | undefined> {
  return db
    .selectFrom('access_tokens')
    .innerJoin('users', 'users.user_id', 'access_tokens.user_id')
    .innerJoin('devices', (join) =>
      join.onRef('devices.user_id', '=', 'access_tokens.user_id').onRef('devices.device_id', '=', 'access_tokens.device_id'),
    )
    .select([
      'access_tokens.user_id',
      'access_tokens.device_id',
      'users.is_admin',
      'users.deactivated',
      'users.appservice_id',
      'devices.last_seen_ts',
    ])
    .where('access_tokens.token_hash', '=', tokenHash)
    .executeTakeFirst();
}
