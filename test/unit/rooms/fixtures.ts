import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkEventAuth } from '../../../server/rooms/auth-rules.ts';
import { buildEvent } from '../../../server/rooms/build-event.ts';
import { authStateOf, selectAuthEvents } from '../../../server/rooms/auth-events.ts';
import { stateKey, type PersistentEvent, type StateMap } from '../../../server/rooms/event.ts';
import type { RoomVersionId } from '../../../server/rooms/room-versions.ts';
import { signingKeyFromSeed } from '../../../server/signing-key.ts';

/** Builders for auth-rule tests: a room is just its state map plus the last event, built with real signed events. */

export const SERVER = 'palisade.test';
export const SIGNING_KEY = signingKeyFromSeed(Buffer.alloc(32, 7), 'test');
export const ALICE = `@alice:${SERVER}`;
export const BOB = `@bob:${SERVER}`;
export const CAROL = `@carol:${SERVER}`;
export const MALLORY = '@mallory:evil.example';

export interface Room {
  version: RoomVersionId;
  roomId: string;
  state: StateMap;
  create: PersistentEvent;
  latest: PersistentEvent;
}

export interface EventSpec {
  sender: string;
  type: string;
  stateKey?: string;
  content: Record<string, unknown>;
  redacts?: string;
  /** Defaults to the room's latest event. */
  prevEvents?: string[];
}

export interface RoomSpec {
  version?: RoomVersionId;
  creator?: string;
  /** Omit for `invite`; null for no join rules event. */
  joinRule?: string | null;
  /** Content of the power levels event; null for none. Defaults to the creator at 100. */
  powerLevels?: Record<string, unknown> | null;
  /** Membership of users other than the creator, who is joined. */
  members?: Record<string, string>;
}

let clock = 1_700_000_000_000;

/** An event with auth events selected from the room's current state, not yet applied. */
export function makeEvent(room: Room, spec: EventSpec): PersistentEvent {
  return buildEvent({
    roomVersion: room.version,
    roomId: room.roomId,
    sender: spec.sender,
    type: spec.type,
    stateKey: spec.stateKey,
    content: spec.content,
    prevEvents: spec.prevEvents ?? [room.latest.event_id],
    authEvents: selectAuthEvents(spec.type, spec.stateKey, spec.sender, spec.content, room.state),
    depth: room.latest.depth + 1,
    originServerTs: clock++,
    origin: SERVER,
    signingKey: SIGNING_KEY,
    redacts: spec.redacts,
  });
}

/** The state an event is authorised against: the events it cites. */
export function authStateFor(room: Room, event: PersistentEvent): StateMap {
  const byId = new Map([...room.state.values()].map((e) => [e.event_id, e]));
  return authStateOf(event.auth_events.map((id) => byId.get(id)!));
}

/** Applies an event to the fixture without checking it (set-up only). */
export function apply(room: Room, event: PersistentEvent): PersistentEvent {
  if (event.state_key !== undefined) room.state.set(stateKey(event.type, event.state_key), event);
  room.latest = event;
  return event;
}

export function setState(room: Room, sender: string, type: string, key: string, content: Record<string, unknown>): PersistentEvent {
  return apply(room, makeEvent(room, { sender, type, stateKey: key, content }));
}

export function createEventContent(version: RoomVersionId, creator: string): Record<string, unknown> {
  return version === '10' ? { creator, room_version: version } : { room_version: version };
}

export function createRoom(spec: RoomSpec = {}): Room {
  const version = spec.version ?? '11';
  const creator = spec.creator ?? ALICE;
  const roomId = `!room${clock}:${creator.slice(creator.indexOf(':') + 1)}`;
  const create = buildEvent({
    roomVersion: version, roomId, sender: creator, type: 'm.room.create', stateKey: '',
    content: createEventContent(version, creator), prevEvents: [], authEvents: [], depth: 1,
    originServerTs: clock++, origin: SERVER, signingKey: SIGNING_KEY,
  });
  const room: Room = { version, roomId, state: new Map(), create, latest: create };
  apply(room, create);
  setState(room, creator, 'm.room.member', creator, { membership: 'join' });
  if (spec.powerLevels !== null) {
    setState(room, creator, 'm.room.power_levels', '', spec.powerLevels ?? { users: { [creator]: 100 } });
  }
  if (spec.joinRule !== null) setState(room, creator, 'm.room.join_rules', '', { join_rule: spec.joinRule ?? 'invite' });
  for (const [userId, membership] of Object.entries(spec.members ?? {})) {
    setState(room, userId, 'm.room.member', userId, { membership });
  }
  return room;
}

export interface AuthCase {
  name: string;
  room?: RoomSpec;
  /** Extra set-up after the room is created. */
  setup?: (room: Room) => void;
  event: EventSpec | ((room: Room) => EventSpec);
  allowed: boolean;
  /** For refusals: what the reason must say. */
  reason?: RegExp;
  versions?: RoomVersionId[];
}

/** One test per case and room version: the event is checked against the auth events it selects. */
export function runAuthCases(cases: readonly AuthCase[]): void {
  for (const authCase of cases) {
    for (const version of authCase.versions ?? (['10', '11'] as const)) {
      test(`v${version}: ${authCase.name}`, () => {
        const room = createRoom({ ...authCase.room, version });
        authCase.setup?.(room);
        const spec = typeof authCase.event === 'function' ? authCase.event(room) : authCase.event;
        const event = makeEvent(room, spec);
        const result = checkEventAuth(event, authStateFor(room, event), version);
        // The state before the event must give the same answer as its auth events.
        assert.deepEqual(checkEventAuth(event, room.state, version), result, 'full state and auth events disagree');
        assert.equal(result.allowed, authCase.allowed, result.allowed ? 'allowed' : result.reason);
        if (!result.allowed && authCase.reason) assert.match(result.reason, authCase.reason);
      });
    }
  }
}
