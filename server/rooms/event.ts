/**
 * A persistent event (PDU) as Palisade stores it. The shape is the spec's
 * `pdu_v4`/`pdu_v11` definition plus the `event_id`, which in room versions 4+
 * is not sent over federation but derived from the reference hash.
 */
export type PersistentEvent = {
  event_id: string;
  room_id: string;
  sender: string;
  type: string;
  /** Present (possibly empty) for state events, absent for message events. */
  state_key?: string;
  content: Record<string, unknown>;
  origin_server_ts: number;
  prev_events: string[];
  auth_events: string[];
  depth: number;
  hashes: { sha256: string };
  signatures: Record<string, Record<string, string>>;
  unsigned?: Record<string, unknown>;
  /** Top-level only in room versions whose redaction events carry it there (v10); v11 moves it into content. */
  redacts?: string;
};

/** An event as it travels between servers: everything but the derived event_id. */
export type Pdu = Omit<PersistentEvent, 'event_id'>;

/** Any event-shaped JSON object, for functions that must also take the spec's older examples. */
export type EventJson = Record<string, unknown>;

/** Key of a state map entry: the (type, state_key) pair. */
export type StateKey = string;

/** Room state (or an auth-event set) keyed by `stateKey(type, state_key)`. */
export type StateMap = Map<StateKey, PersistentEvent>;

/** JSON of the pair, so no choice of characters in either part can make two keys collide. */
export function stateKey(type: string, stateKeyValue: string): StateKey {
  return JSON.stringify([type, stateKeyValue]);
}

export function splitStateKey(key: StateKey): [type: string, stateKey: string] {
  const [type, value] = JSON.parse(key) as [string, string];
  return [type, value];
}

export function isStateEvent(event: { state_key?: unknown }): boolean {
  return typeof event.state_key === 'string';
}

/** Builds a state map from a list of state events (later entries win). */
export function stateMapOf(events: Iterable<PersistentEvent>): StateMap {
  const state: StateMap = new Map();
  for (const event of events) {
    if (event.state_key !== undefined) state.set(stateKey(event.type, event.state_key), event);
  }
  return state;
}

/** The PDU form of a stored event: in room versions 4+ the event_id is never part of the hashed or signed JSON. */
export function toPdu<T extends EventJson>(event: T): Omit<T, 'event_id'> {
  const { event_id: _eventId, ...pdu } = event;
  return pdu;
}
