import { sql } from 'kysely';
import type { AppContext } from '../app-context.ts';
import { writeAccountData } from '../accounts/account-data.ts';
import { badJson, invalidParam, missingParam, notFound, tooLarge } from '../errors.ts';
import type { Queryable } from '../storage/database.ts';
import { findAccountData, GLOBAL_ROOM } from '../storage/queries/account-data.ts';
import { withTransaction } from '../storage/transaction.ts';
import { defaultRules, RULE_KINDS, type PushAction, type PushRule, type RuleKind, type Ruleset } from './default-rules.ts';

/**
 * A user's push rules. They are kept as the `m.push_rules` account data the
 * spec has clients receive in /sync (so every change reaches the user's
 * devices through the account-data stream), but read back merged over the
 * current server defaults: only the user's own rules and the enabled/actions
 * of the defaults are taken from what is stored, so a server that gains a new
 * default rule gives it to everyone.
 */

export const PUSH_RULES_TYPE = 'm.push_rules';
/** Most user-defined rules one user may have, over all kinds. */
export const MAX_USER_RULES = 500;
const MAX_ACTIONS = 20;
const MAX_CONDITIONS = 20;
const KNOWN_ACTIONS = new Set(['notify', 'dont_notify', 'coalesce']);

export interface RuleBody {
  actions: unknown[];
  conditions?: unknown[];
  pattern?: string;
}

export async function loadRuleset(db: Queryable, userId: string): Promise<Ruleset> {
  return rulesetFrom(userId, await findAccountData(db, userId, GLOBAL_ROOM, PUSH_RULES_TYPE));
}

/** The ruleset from the user's stored `m.push_rules` content (undefined or null: none stored, the defaults). */
export function rulesetFrom(userId: string, content: Record<string, unknown> | null | undefined): Ruleset {
  return mergeRuleset(userId, content?.global as Partial<Record<RuleKind, PushRule[]>> | undefined);
}

function mergeRuleset(userId: string, stored: Partial<Record<RuleKind, PushRule[]>> | undefined): Ruleset {
  const defaults = defaultRules(userId);
  const merged = {} as Ruleset;
  for (const kind of RULE_KINDS) {
    const storedRules = Array.isArray(stored?.[kind]) ? stored[kind] : [];
    const own = storedRules.filter((rule) => !rule.default && !rule.rule_id.startsWith('.'));
    const base = defaults[kind].map((rule) => {
      const saved = storedRules.find((candidate) => candidate.default && candidate.rule_id === rule.rule_id);
      return saved ? { ...rule, enabled: saved.enabled !== false, actions: Array.isArray(saved.actions) ? saved.actions : rule.actions } : rule;
    });
    // Spec: user rules outrank server defaults, except .m.rule.master, which outranks everything.
    merged[kind] = kind === 'override' ? [base[0], ...own, ...base.slice(1)] : [...own, ...base];
  }
  return merged;
}

export function findRule(ruleset: Ruleset, kind: RuleKind, ruleId: string): PushRule {
  const rule = ruleset[kind].find((candidate) => candidate.rule_id === ruleId);
  if (!rule) throw notFound(`No push rule ${kind}/${ruleId}`);
  return rule;
}

/** PUT /pushrules/global/{kind}/{ruleId}: create or replace a user-defined rule, placed by `before`/`after`. */
export async function putRule(app: AppContext, userId: string, kind: RuleKind, ruleId: string, body: RuleBody, place: { before?: string; after?: string }): Promise<void> {
  if (ruleId.startsWith('.')) throw invalidParam('Rule IDs starting with "." are reserved for server-default rules');
  if (/[/\\]/.test(ruleId)) throw invalidParam('Rule IDs may not contain slashes or backslashes');
  if (kind === 'room' && !ruleId.startsWith('!')) throw invalidParam('A room rule’s ID is the room ID');
  if (kind === 'sender' && !ruleId.startsWith('@')) throw invalidParam('A sender rule’s ID is the sender’s user ID');
  if (kind === 'content' && body.pattern === undefined) throw missingParam('A content rule needs a pattern');
  const actions = checkActions(body.actions);
  const conditions = kind === 'override' || kind === 'underride' ? checkConditions(body.conditions ?? []) : undefined;
  await updateRuleset(app, userId, (ruleset) => {
    const own = ruleset[kind].filter((rule) => !rule.default);
    const existing = own.find((rule) => rule.rule_id === ruleId);
    const rule: PushRule = { rule_id: ruleId, default: false, enabled: existing?.enabled ?? true, actions, ...(conditions ? { conditions } : {}), ...(kind === 'content' ? { pattern: body.pattern } : {}) };
    const others = own.filter((candidate) => candidate.rule_id !== ruleId);
    let index: number;
    if (place.before !== undefined) index = anchorIndex(others, place.before);
    else if (place.after !== undefined) index = anchorIndex(others, place.after) + 1;
    else index = existing ? own.indexOf(existing) : 0;
    others.splice(Math.min(index, others.length), 0, rule);
    if (!existing && RULE_KINDS.reduce((count, k) => count + ruleset[k].filter((r) => !r.default).length, 0) >= MAX_USER_RULES) {
      throw tooLarge(`You already have ${MAX_USER_RULES} push rules`);
    }
    replaceOwnRules(ruleset, kind, others);
  });
}

/** DELETE: user-defined rules only (server defaults can be disabled, not deleted). */
export async function deleteRule(app: AppContext, userId: string, kind: RuleKind, ruleId: string): Promise<void> {
  await updateRuleset(app, userId, (ruleset) => {
    const rule = findRule(ruleset, kind, ruleId);
    if (rule.default) throw notFound(`${ruleId} is a server-default rule; it can be disabled but not deleted`);
    replaceOwnRules(ruleset, kind, ruleset[kind].filter((candidate) => !candidate.default && candidate.rule_id !== ruleId));
  });
}

/** PUT .../enabled and .../actions: for user-defined and server-default rules alike. */
export async function changeRule(app: AppContext, userId: string, kind: RuleKind, ruleId: string, change: { enabled?: boolean; actions?: unknown[] }): Promise<void> {
  const actions = change.actions === undefined ? undefined : checkActions(change.actions);
  await updateRuleset(app, userId, (ruleset) => {
    const rule = findRule(ruleset, kind, ruleId);
    if (change.enabled !== undefined) rule.enabled = change.enabled;
    if (actions !== undefined) rule.actions = actions;
  });
}

/** One read-modify-write of the user's rules; the new set goes out as `m.push_rules` account data. */
async function updateRuleset(app: AppContext, userId: string, change: (ruleset: Ruleset) => void): Promise<void> {
  await withTransaction(app.db, async (tx, hooks) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext('account_data'), hashtext(${userId}))`.execute(tx);
    const ruleset = await loadRuleset(tx, userId);
    change(ruleset);
    await writeAccountData(app, tx, hooks, { userId, roomId: undefined, type: PUSH_RULES_TYPE }, { global: ruleset });
  });
}

function replaceOwnRules(ruleset: Ruleset, kind: RuleKind, own: PushRule[]): void {
  const defaults = ruleset[kind].filter((rule) => rule.default);
  ruleset[kind] = kind === 'override' ? [defaults[0], ...own, ...defaults.slice(1)] : [...own, ...defaults];
}

function anchorIndex(own: PushRule[], ruleId: string): number {
  if (ruleId.startsWith('.')) throw invalidParam('Rules cannot be placed relative to a server-default rule');
  const index = own.findIndex((rule) => rule.rule_id === ruleId);
  if (index < 0) throw notFound(`No push rule ${ruleId} to place this rule next to`);
  return index;
}

function checkActions(actions: unknown[]): PushAction[] {
  if (actions.length > MAX_ACTIONS) throw badJson(`A rule may have at most ${MAX_ACTIONS} actions`);
  for (const action of actions) {
    if (typeof action === 'string' ? KNOWN_ACTIONS.has(action) : isTweak(action)) continue;
    throw badJson(`Unknown push rule action ${JSON.stringify(action).slice(0, 64)}`);
  }
  return actions as PushAction[];
}

function isTweak(action: unknown): boolean {
  return typeof action === 'object' && action !== null && !Array.isArray(action) && typeof (action as Record<string, unknown>).set_tweak === 'string';
}

function checkConditions(conditions: unknown[]): Array<Record<string, unknown>> {
  if (conditions.length > MAX_CONDITIONS) throw badJson(`A rule may have at most ${MAX_CONDITIONS} conditions`);
  for (const condition of conditions) {
    if (typeof condition !== 'object' || condition === null || Array.isArray(condition) || typeof (condition as Record<string, unknown>).kind !== 'string') {
      throw badJson('Each condition must be an object with a kind');
    }
  }
  return conditions as Array<Record<string, unknown>>;
}

/**
 * Room upgrades (as Synapse does): the user's rules for the old room apply to
 * its replacement too. A `room` rule for it is copied under the new room's ID,
 * and an override or underride rule whose ID names the old room and whose
 * conditions match its `room_id` is copied with both renamed. Existing rules
 * for the new room are left alone.
 */
export async function copyRoomPushRules(app: AppContext, userId: string, oldRoomId: string, newRoomId: string): Promise<void> {
  await updateRuleset(app, userId, (ruleset) => {
    for (const kind of ['override', 'room', 'underride'] as const) {
      const own = ruleset[kind].filter((rule) => !rule.default);
      const copies = own.flatMap((rule) => {
        if (!rule.rule_id.includes(oldRoomId)) return [];
        const matchesRoom = kind === 'room' || (rule.conditions ?? []).some((condition) => condition.kind === 'event_match' && condition.key === 'room_id' && condition.pattern === oldRoomId);
        const ruleId = rule.rule_id.replaceAll(oldRoomId, newRoomId);
        if (!matchesRoom || own.some((existing) => existing.rule_id === ruleId)) return [];
        const conditions = rule.conditions?.map((condition) => (condition.key === 'room_id' && condition.pattern === oldRoomId ? { ...condition, pattern: newRoomId } : condition));
        return [{ ...rule, rule_id: ruleId, ...(conditions ? { conditions } : {}) }];
      });
      if (copies.length === 0) continue;
      const total = RULE_KINDS.reduce((count, k) => count + ruleset[k].filter((r) => !r.default).length, 0);
      if (total + copies.length > MAX_USER_RULES) throw tooLarge(`You already have ${MAX_USER_RULES} push rules`);
      // Each copy goes right after its original, so it keeps its rank.
      const placed = own.flatMap((rule) => [rule, ...copies.filter((copy) => copy.rule_id === rule.rule_id.replaceAll(oldRoomId, newRoomId))]);
      replaceOwnRules(ruleset, kind, placed);
    }
  });
}
