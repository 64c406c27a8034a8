import type { Generated, Selectable } from 'kysely';

export interface RegistrationTokensTable {
  token: string;
  uses_allowed: number | null;
  /** UIA sessions that used the token but have not finished registering. */
  pending: Generated<number>;
  completed: Generated<number>;
  expiry_time: number | null;
  created_ts: number;
}

/** Single-use nonces of Synapse's shared-secret registration; rows so several processes agree. */
export interface RegistrationNoncesTable {
  nonce: string;
  created_ts: number;
}

/** User-interactive auth sessions, kept in Postgres so any API process can continue one. */
export interface UiaSessionsTable {
  session_id: string;
  /** Method and path the session was started for; a session cannot be reused for another request. */
  request_key: string;
  user_id: string | null;
  completed: string[];
  /** Stage-specific results, e.g. the registration token used. */
  results: Record<string, unknown>;
  created_ts: number;
}

export type RegistrationTokenRow = Selectable<RegistrationTokensTable>;
export type UiaSessionRow = Selectable<UiaSessionsTable>;
