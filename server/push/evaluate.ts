import { RULE_KINDS, type PushAction, type PushRule, type Ruleset } from './default-rules.ts';

/** What a rule can be matched against: the event, and facts about the room and the user it is evaluated for. */
export interface PushEvent {
  type: string;
  sender: string;
  room_id: string;
  state_key?: string;
  content: Record<string, unknown>;
}

export interface PushContext {
  userId: string;
  displayName: string | undefined;
  memberCount: number;
  /** The sender's power level, and the level `notifications.<key>` requires (spec: room defaults to 50). */
  senderPowerLevel: number;
  notificationLevel(key: string): number;
}

/** Spec: deprecated rules that apply only to events without `m.mentions`. */
const LEGACY_MENTION_RULES = new Set(['.m.rule.contains_display_name', '.m.rule.roomnotif', '.m.rule.contains_user_name']);

/** The actions of the first enabled rule that matches, in the spec's order of kinds; undefined when none does. */
export function evaluatePushRules(ruleset: Ruleset, event: PushEvent, context: PushContext): PushAction[] | undefined {
  const hasMentions = typeof event.content['m.mentions'] === 'object' && event.content['m.mentions'] !== null;
  for (const kind of RULE_KINDS) {
    for (const rule of ruleset[kind]) {
      if (!rule.enabled || (hasMentions && LEGACY_MENTION_RULES.has(rule.rule_id))) continue;
      if (ruleMatches(kind, rule, event, context)) return rule.actions;
    }
  }
  return undefined;
}

export function notifies(actions: PushAction[] | undefined): boolean {
  return actions?.includes('notify') ?? false;
}

export function highlights(actions: PushAction[] | undefined): boolean {
  return notifies(actions) && (actions ?? []).some((action) => typeof action === 'object' && action.set_tweak === 'highlight' && action.value !== false);
}

function ruleMatches(kind: (typeof RULE_KINDS)[number], rule: PushRule, event: PushEvent, context: PushContext): boolean {
  switch (kind) {
    case 'room':
      return event.room_id === rule.rule_id;
    case 'sender':
      return event.sender === rule.rule_id;
    case 'content':
      return typeof event.content.body === 'string' && typeof rule.pattern === 'string' && globMatches(rule.pattern, event.content.body, true);
    default:
      return (rule.conditions ?? []).every((condition) => conditionHolds(condition, event, context));
  }
}

function conditionHolds(condition: Record<string, unknown>, event: PushEvent, context: PushContext): boolean {
  switch (condition.kind) {
    case 'event_match': {
      const value = propertyOf(event, String(condition.key));
      return typeof value === 'string' && typeof condition.pattern === 'string' && globMatches(condition.pattern, value, condition.key === 'content.body');
    }
    case 'event_property_is':
      return isPrimitive(condition.value) && propertyOf(event, String(condition.key)) === condition.value;
    case 'event_property_contains': {
      const value = propertyOf(event, String(condition.key));
      return Array.isArray(value) && isPrimitive(condition.value) && value.includes(condition.value);
    }
    case 'contains_display_name':
      return !!context.displayName && typeof event.content.body === 'string' && globMatches(context.displayName, event.content.body, true, true);
    case 'room_member_count':
      return memberCountMatches(String(condition.is ?? ''), context.memberCount);
    case 'sender_notification_permission':
      return context.senderPowerLevel >= context.notificationLevel(String(condition.key));
    default:
      return false; // spec: unknown conditions never match
  }
}

/** Dot-separated property paths; a backslash escapes a literal dot or backslash in a name (spec appendix). */
function propertyOf(event: PushEvent, key: string): unknown {
  let value: unknown = event;
  for (const part of keyPath(key)) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function keyPath(key: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < key.length; i++) {
    const char = key[i];
    if (char === '\\' && (key[i + 1] === '.' || key[i + 1] === '\\')) current += key[++i];
    else if (char === '.') {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts;
}

function isPrimitive(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

/** Case-insensitive glob (`*`, `?`) over the whole value, or over words of it for message bodies. */
function globMatches(pattern: string, value: string, wordBoundary: boolean, literal = false): boolean {
  const escaped = pattern.replace(/[.+^${}()|[\]\\*?]/g, (char) => (literal ? `\\${char}` : char === '*' ? '.*?' : char === '?' ? '.' : `\\${char}`));
  const source = wordBoundary ? `(^|\\W)${escaped}(\\W|$)` : `^${escaped}$`;
  return new RegExp(source, 'iu').test(value);
}

function memberCountMatches(is: string, count: number): boolean {
  const parsed = /^(==|<=|>=|<|>)?(\d+)$/.exec(is);
  if (!parsed) return false;
  const wanted = Number(parsed[2]);
  switch (parsed[1] ?? '==') {
    case '<':
      return count < wanted;
    case '>':
      return count > wanted;
    case '<=':
      return count <= wanted;
    case '>=':
      return count >= wanted;
    default:
      return count === wanted;
  }
}
