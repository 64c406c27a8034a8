import { z } from 'zod';
import type { PersistentEvent } from '../rooms/event.ts';
import type { ChannelPolicyRow } from '../storage/tables/channels.ts';
import { ENCRYPTION_STATE } from './encryption-policy.ts';

/** Shortest maximum age a channel may set: below a second, messages would vanish before they are read. */
export const MIN_RETENTION_MS = 1000;
/** Longest: a hundred years is "forever" in all but name. */
export const MAX_RETENTION_MS = 100 * 365 * 24 * 3600 * 1000;
/** Most appservices one channel may list as allowed bots. */
export const MAX_ALLOWED_BOTS = 100;

export const MEGOLM_ALGORITHM = 'm.megolm.v1.aes-sha2';
export const PREVIEW_URLS_TYPE = 'org.matrix.room.preview_urls';
/** MSC1763 message retention, which clients already read. */
export const RETENTION_TYPE = 'm.room.retention';

export const ChannelPolicySchema = z.strictObject({
  /** Listed in the room directory (public) or not (private). */
  visibility: z.enum(['private', 'public']),
  /** 'required' is for good: it can never go back to 'off'. */
  encryption: z.enum(['required', 'off']),
  /** invite only, request to join (knock), or open (public join rule). */
  joining: z.enum(['invite', 'knock', 'open']),
  /** URL previews for this channel; off by default because fetching reveals that someone read the link. */
  link_previews: z.boolean(),
  /** Events older than this are purged; null keeps them forever. */
  retention_max_age_ms: z.number().int().min(MIN_RETENTION_MS).max(MAX_RETENTION_MS).nullable(),
  /** Appservice ids whose bots may be in the channel; null admits any bot (subject to encryption). */
  allowed_bots: z.array(z.string().min(1).max(255)).max(MAX_ALLOWED_BOTS).nullable(),
});
export type ChannelPolicy = z.infer<typeof ChannelPolicySchema>;

/** Defaults for a channel made through the admin API: private, encrypted, invite only, no previews, kept forever, no bots. */
export const DEFAULT_CHANNEL_POLICY: ChannelPolicy = {
  visibility: 'private',
  encryption: 'required',
  joining: 'invite',
  link_previews: false,
  retention_max_age_ms: null,
  allowed_bots: [],
};

const JOIN_RULES: Record<ChannelPolicy['joining'], string> = { invite: 'invite', knock: 'knock', open: 'public' };

/** The state events that publish a policy to clients, keyed by type (all with state_key ''). */
export function policyStateContents(policy: ChannelPolicy): Map<string, Record<string, unknown>> {
  const contents = new Map<string, Record<string, unknown>>();
  contents.set('m.room.join_rules', { join_rule: JOIN_RULES[policy.joining] });
  if (policy.encryption === 'required') contents.set(ENCRYPTION_STATE.type, { algorithm: MEGOLM_ALGORITHM });
  contents.set(PREVIEW_URLS_TYPE, { disable: !policy.link_previews });
  // MSC1763: content without max_lifetime means "keep forever".
  contents.set(RETENTION_TYPE, policy.retention_max_age_ms === null ? {} : { max_lifetime: policy.retention_max_age_ms });
  return contents;
}

/**
 * The policy of a room, read from where each part lives: room state for what
 * clients see (a room with m.room.encryption is encrypted however that came
 * about; a channel admin changing the join rule through Matrix changes the
 * policy), the directory flag, and the row for allowed bots. A room without a
 * row (made with a plain createRoom) admits any bot.
 */
export function effectivePolicy(row: ChannelPolicyRow | undefined, state: readonly PersistentEvent[], isPublic: boolean): ChannelPolicy {
  const byType = new Map(state.filter((event) => event.state_key === '').map((event) => [event.type, event.content]));
  const joinRule = byType.get('m.room.join_rules')?.join_rule;
  const maxLifetime = byType.get(RETENTION_TYPE)?.max_lifetime;
  return {
    visibility: isPublic ? 'public' : 'private',
    encryption: byType.has(ENCRYPTION_STATE.type) ? 'required' : 'off',
    joining: joinRule === 'public' ? 'open' : joinRule === 'knock' ? 'knock' : 'invite',
    link_previews: byType.get(PREVIEW_URLS_TYPE)?.disable === false,
    retention_max_age_ms: Number.isSafeInteger(maxLifetime) ? (maxLifetime as number) : null,
    allowed_bots: row ? row.allowed_bots : null,
  };
}

/** The state types a policy is published as; read together to build `effectivePolicy`. */
export const POLICY_STATE_TYPES = ['m.room.join_rules', ENCRYPTION_STATE.type, PREVIEW_URLS_TYPE, RETENTION_TYPE] as const;

/**
 * m.room.retention sent through Matrix is policy too: the purge job obeys it,
 * so a maximum age outside the bounds (or not a whole number of ms) is refused.
 */
export function retentionStateProblem(draft: { type: string; stateKey?: string; content: Record<string, unknown> }): string | undefined {
  if (draft.type !== RETENTION_TYPE || draft.stateKey !== '' || !('max_lifetime' in draft.content)) return undefined;
  const maxLifetime = draft.content.max_lifetime;
  if (Number.isSafeInteger(maxLifetime) && (maxLifetime as number) >= MIN_RETENTION_MS && (maxLifetime as number) <= MAX_RETENTION_MS) return undefined;
  return `Message retention: max_lifetime must be a whole number of milliseconds from ${MIN_RETENTION_MS} to ${MAX_RETENTION_MS}`;
}
