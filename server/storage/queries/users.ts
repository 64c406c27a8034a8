import type { Queryable } from '../database.ts';
import type { NewUserRow, UserRow, UserUpdate } from '../tables/users.ts';
import { ErrCode, MatrixError } from '../../errors.ts';

export async function findUser(db: Queryable, userId: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('user_id', '=', userId).executeTakeFirst();
}

/** Display names of several users (absent: no such user or no name). */
export async function displayNamesOf(db: Queryable, userIds: readonly string[]): Promise<Map<string, string>> {
  if (userIds.length === 0) return new Map();
  const rows = await db.selectFrom('users').select(['user_id', 'displayname']).where('user_id', 'in', [...userIds]).execute();
  return new Map(rows.filter((row) => row.displayname !== null).map((row) => [row.user_id, row.displayname!]));
}

export async function userExists(db: Queryable, userId: string): Promise<boolean> {
  const row = await db.selectFrom('users').select('user_id').where('user_id', '=', userId).executeTakeFirst();
  return row !== undefined;
}

/** Inserts a user; a taken ID (even under a race) is M_USER_IN_USE. */
export async function insertUser(db: Queryable, user: NewUserRow): Promise<void> {
  try {
    await db.insertInto('users').values(user).execute();
  } catch (error) {
    if ((error as { code?: string }).code === '23505') throw new MatrixError(ErrCode.USER_IN_USE, 'User ID already taken');
    throw error;
  }
}

export async function updateUser(db: Queryable, userId: string, update: UserUpdate): Promise<void> {
  await db.updateTable('users').set(update).where('user_id', '=', userId).execute();
}
