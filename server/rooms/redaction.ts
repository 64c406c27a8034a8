import type { EventJson } from './event.ts';
import { roomVersionRules, type RoomVersionRules } from './room-versions.ts';

/**
 * The redaction algorithm (spec: rooms/fragments/v9-redactions.md for v10,
 * v11-redactions.md for v11). Used both to redact events for clients and to
 * compute the form that is signed and reference-hashed, so it must be exact:
 * one key too many or too few changes every event ID.
 */

/** Top-level keys every version keeps. */
const KEPT_TOP_LEVEL = [
  'event_id', 'type', 'room_id', 'sender', 'state_key', 'content', 'hashes',
  'signatures', 'depth', 'prev_events', 'auth_events', 'origin_server_ts',
];

/** v11 stopped protecting these (they were never used by the protocol). */
const KEPT_TOP_LEVEL_BEFORE_V11 = ['prev_state', 'origin', 'membership'];

const KEPT_CONTENT_V9: Readonly<Record<string, readonly string[]>> = {
  'm.room.member': ['membership', 'join_authorised_via_users_server'],
  'm.room.create': ['creator'],
  'm.room.join_rules': ['join_rule', 'allow'],
  'm.room.power_levels': ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default'],
  'm.room.history_visibility': ['history_visibility'],
};

const KEPT_CONTENT_V11: Readonly<Record<string, readonly string[]>> = {
  ...KEPT_CONTENT_V9,
  'm.room.power_levels': [...KEPT_CONTENT_V9['m.room.power_levels'], 'invite'],
  'm.room.redaction': ['redacts'],
};

/** Returns a redacted copy; the input is not modified. Throws for an unsupported room version. */
export function redactEvent<T extends EventJson>(event: T, roomVersion: string): T {
  const rules = roomVersionRules(roomVersion);
  const keptTopLevel = rules.redaction === 'v11' ? KEPT_TOP_LEVEL : [...KEPT_TOP_LEVEL, ...KEPT_TOP_LEVEL_BEFORE_V11];
  const redacted: EventJson = {};
  for (const key of keptTopLevel) {
    if (Object.hasOwn(event, key) && event[key] !== undefined) redacted[key] = event[key];
  }
  if (Object.hasOwn(event, 'content')) redacted.content = redactContent(String(event.type), event.content, rules);
  return structuredClone(redacted) as T;
}

function redactContent(type: string, content: unknown, rules: RoomVersionRules): Record<string, unknown> {
  if (!isObject(content)) return {};
  if (rules.redaction === 'v11' && type === 'm.room.create') return { ...content };
  const keptKeys = (rules.redaction === 'v11' ? KEPT_CONTENT_V11 : KEPT_CONTENT_V9)[type] ?? [];
  const kept: Record<string, unknown> = {};
  for (const key of keptKeys) {
    if (Object.hasOwn(content, key)) kept[key] = content[key];
  }
  // v11 keeps the identity server's signed block, which proves a third-party invite.
  if (rules.redaction === 'v11' && type === 'm.room.member') {
    const invite = content.third_party_invite;
    if (isObject(invite) && Object.hasOwn(invite, 'signed')) kept.third_party_invite = { signed: invite.signed };
  }
  return kept;
}

/** The event an m.room.redaction event redacts: top-level in v10, in content from v11. */
export function redactedEventIdOf(event: EventJson, roomVersion: string): string | undefined {
  const rules = roomVersionRules(roomVersion);
  const source = rules.redactsInContent ? event.content : event;
  const redacts = isObject(source) ? source.redacts : undefined;
  return typeof redacts === 'string' ? redacts : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
