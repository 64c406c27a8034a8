import { createHash } from 'node:crypto';

/**
 * `required_state` of a sliding sync room config: which state events of a
 * room to send. Clients send it in one of two shapes:
 *
 * - the deployed one (Synapse, Element X, matrix-js-sdk): `[[type, state_key], ...]`
 *   with `*` as a wildcard for either part, `$ME` as the user's own ID and
 *   `["m.room.member", "$LAZY"]` for lazy-loaded members;
 * - the newer MSC4186 one: `{include: [{type?, state_key?}], exclude: [...], lazy_members}`.
 *
 * Both become one RequiredState. Several configs combine as a superset
 * (union of includes, lazy if any is lazy); excludes only apply within the
 * config that named them, so a combination keeps only excludes all share.
 */

export const WILDCARD = '*';
export const LAZY = '$LAZY';
export const ME = '$ME';

export interface RequiredState {
  include: Array<[string, string]>;
  exclude: Array<[string, string]>;
  lazyMembers: boolean;
}

export type RequiredStateJson = Array<[string, string]> | { include?: Array<{ type?: string; state_key?: string }>; exclude?: Array<{ type?: string; state_key?: string }>; lazy_members?: boolean };

export function requiredStateOf(json: RequiredStateJson): RequiredState {
  if (Array.isArray(json)) {
    const lazyMembers = json.some(([type, key]) => type === 'm.room.member' && key === LAZY);
    return { include: json.filter(([type, key]) => !(type === 'm.room.member' && key === LAZY)), exclude: [], lazyMembers };
  }
  const pair = (entry: { type?: string; state_key?: string }): [string, string] => [entry.type ?? WILDCARD, entry.state_key ?? WILDCARD];
  return { include: (json.include ?? []).map(pair), exclude: (json.exclude ?? []).map(pair), lazyMembers: json.lazy_members ?? false };
}

/** The superset of several configs' required state. */
export function combineRequiredState(all: readonly RequiredState[]): RequiredState {
  const key = ([type, stateKey]: [string, string]) => `${type}\u0000${stateKey}`;
  const include = new Map<string, [string, string]>();
  for (const config of all) for (const pair of config.include) include.set(key(pair), pair);
  const [first, ...rest] = all;
  const exclude = (first?.exclude ?? []).filter((pair) => rest.every((config) => config.exclude.some((other) => key(other) === key(pair))));
  return { include: [...include.values()], exclude, lazyMembers: all.some((config) => config.lazyMembers) };
}

/** A short stable digest, to tell whether a room's config changed between requests (connections keep one per room). */
export function requiredStateKey(state: RequiredState): string {
  const sorted = (pairs: Array<[string, string]>) => pairs.map((pair) => pair.join('\u0000')).sort();
  return createHash('sha256').update(JSON.stringify([sorted(state.include), sorted(state.exclude), state.lazyMembers])).digest('base64url').slice(0, 16);
}

/**
 * Whether state event (type, stateKey) is asked for. With lazy members, a
 * wildcard type does not pull in every member event: members come for the
 * timeline's senders (and by explicit member entries) only.
 */
export function requiredStateMatcher(state: RequiredState, userId: string): (type: string, stateKey: string) => boolean {
  const resolve = (key: string) => (key === ME ? userId : key);
  const matches = (pair: [string, string], type: string, stateKey: string, viaWildcardType: boolean) => {
    const [wantType, wantKey] = pair;
    if (wantType !== WILDCARD && wantType !== type) return false;
    if (wantType === WILDCARD && viaWildcardType) return false;
    return wantKey === WILDCARD || resolve(wantKey) === stateKey;
  };
  return (type, stateKey) => {
    const lazyGuard = state.lazyMembers && type === 'm.room.member';
    if (!state.include.some((pair) => matches(pair, type, stateKey, lazyGuard))) return false;
    return !state.exclude.some((pair) => matches(pair, type, stateKey, false));
  };
}

/**
 * The exact (type, state_key) pairs asked for when no wildcard is involved,
 * so the state can be read by key; undefined when a wildcard means reading
 * all of the room's state and filtering.
 */
export function exactPairs(state: RequiredState, userId: string): Array<{ type: string; state_key: string }> | undefined {
  if (state.include.some(([type, key]) => type === WILDCARD || key === WILDCARD)) return undefined;
  const matcher = requiredStateMatcher(state, userId);
  return state.include.map(([type, key]) => ({ type, state_key: key === ME ? userId : key })).filter((pair) => matcher(pair.type, pair.state_key));
}

/**
 * Whether everything `narrower` asks for, `wider` asked for too: then a room
 * sent with `wider` needs nothing resent when its config becomes `narrower`
 * (a room subscription ends and only the list's smaller config is left).
 */
export function coveredBy(narrower: RequiredState, wider: RequiredState): boolean {
  if (wider.lazyMembers && !narrower.lazyMembers) return false;
  const covers = ([type, key]: [string, string], [wideType, wideKey]: [string, string]) => (wideType === WILDCARD || wideType === type) && (wideKey === WILDCARD || wideKey === key);
  if (!narrower.include.every((pair) => wider.include.some((wide) => covers(pair, wide)))) return false;
  return wider.exclude.every(([type, key]) => narrower.exclude.some(([otherType, otherKey]) => otherType === type && otherKey === key));
}
