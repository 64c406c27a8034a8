import type { Generated, Selectable } from 'kysely';

/** The part of a channel's policy that is not room state; see server/channels/channel-policy.ts. */
export interface ChannelPoliciesTable {
  room_id: string;
  /** Null: any bot (subject to encryption); otherwise only bots of these appservice ids. */
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
