/**
 * The room versions Palisade creates and joins, and the per-version switches the
 * redaction, hashing and auth-rule modules read. Spec: /rooms/v10, /rooms/v11.
 * Both use reference-hash event IDs in URL-safe base64 (v4+), state resolution
 * v2 and strict canonical JSON (v6+).
 */
export const SUPPORTED_ROOM_VERSIONS = ['10', '11'] as const;

export type RoomVersionId = (typeof SUPPORTED_ROOM_VERSIONS)[number];

/** v11 is the newest version before v12's hashed room IDs, which we do not implement yet. */
export const DEFAULT_ROOM_VERSION: RoomVersionId = '11';

export interface RoomVersionRules {
  readonly id: RoomVersionId;
  /** 'v9' is the algorithm v9 and v10 use; 'v11' keeps all create content, `redacts`, `invite` and `signed`. */
  readonly redaction: 'v9' | 'v11';
  /** v11 moved `redacts` of m.room.redaction events from the top level into content. */
  readonly redactsInContent: boolean;
  /** Before v11 the create event names its creator in `content.creator`; from v11 the creator is the sender. */
  readonly createHasCreator: boolean;
  /** Knocking (v7+). */
  readonly knock: boolean;
  /** The `restricted` join rule with `join_authorised_via_users_server` (v8+). */
  readonly restrictedJoins: boolean;
  /** The `knock_restricted` join rule (v10+). */
  readonly knockRestricted: boolean;
  /** Power levels must be integers, never numeric strings (v10+). */
  readonly integerPowerLevels: boolean;
}

const V10: RoomVersionRules = Object.freeze({
  id: '10',
  redaction: 'v9',
  redactsInContent: false,
  createHasCreator: true,
  knock: true,
  restrictedJoins: true,
  knockRestricted: true,
  integerPowerLevels: true,
});

const V11: RoomVersionRules = Object.freeze({
  ...V10,
  id: '11',
  redaction: 'v11',
  redactsInContent: true,
  createHasCreator: false,
});

const RULES: Readonly<Record<RoomVersionId, RoomVersionRules>> = { '10': V10, '11': V11 };

export function isSupportedRoomVersion(version: unknown): version is RoomVersionId {
  return typeof version === 'string' && Object.hasOwn(RULES, version);
}

export class UnsupportedRoomVersionError extends Error {
  readonly roomVersion: string;
  constructor(roomVersion: string) {
    super(`room version ${JSON.stringify(roomVersion)} is not supported (supported: ${SUPPORTED_ROOM_VERSIONS.join(', ')})`);
    this.roomVersion = roomVersion;
  }
}

/** Throws UnsupportedRoomVersionError for a version we do not implement. */
export function roomVersionRules(version: string): RoomVersionRules {
  if (!isSupportedRoomVersion(version)) throw new UnsupportedRoomVersionError(version);
  return RULES[version];
}
