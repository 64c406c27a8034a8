import type { Generated, Selectable } from 'kysely';

/** A channel's policy; see server/channels/channel-policy.ts for what each field means. */
export interface ChannelPoliciesTable {
  room_id: string;
  visibility: 'private' | 'public';
  encryption: 'required' | 'off';
  joining: 'invite' | 'knock' | 'open';
  link_previews: Generated<boolean>;
  retention_max_age_ms: number | null;
  allowed_bots: string[] | null;
  updated_ts: number;
}

/** One change made through the channel admin API: who, what, when, before and after. */
export interface ChannelAuditTable {
  id: Generated<number>;
  room_id: string;
  actor: string;
  action: string;
  before: unknown;
  after: unknown;
  created_ts: number;
}

export type ChannelPolicyRow = Selectable<ChannelPoliciesTable>;
export type ChannelAuditRow = Selectable<ChannelAuditTable>;
