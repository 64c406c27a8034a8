import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

export interface UsersTable {
  user_id: string;
  /** argon2id PHC string; null for accounts that cannot log in with a password. */
  password_hash: string | null;
  is_admin: Generated<boolean>;
  deactivated: Generated<boolean>;
  /** The appservice that registered this user, if any. */
  appservice_id: string | null;
  displayname: string | null;
  avatar_url: string | null;
  created_ts: number;
}

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
