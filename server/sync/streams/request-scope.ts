import type { AppContext } from '../../app-context.ts';
import { IGNORED_USER_LIST, ignoredUsersFrom } from '../../accounts/account-data.ts';
import { globalAccountDataOfUsers } from '../../storage/queries/account-data.ts';
import { membershipsOfUser } from '../../storage/queries/room-state.ts';
import { formatRoomPosition } from '../stream-token.ts';
import { PUSH_RULES_TYPE, rulesetFrom } from '../../push/push-rules.ts';
import { findUser } from '../../storage/queries/users.ts';
import type { UnreadSetup } from '../unread-counts.ts';
import type { MembershipRow } from '../../storage/tables/rooms.ts';
import type { SyncRequest } from './provider.ts';

/**
 * Lookups several stream providers need for one sync pass, made once per
 * request: the user's membership rows, the rooms the user is joined to (as of
 * the room-event position the response covers, and within the filter) and the
 * users they ignore.
 */
const membershipsCache = new WeakMap<SyncRequest, Promise<MembershipRow[]>>();
const joinedCache = new WeakMap<SyncRequest, Promise<string[]>>();
const ignoredCache = new WeakMap<SyncRequest, Promise<ReadonlySet<string>>>();
const accountDataCache = new WeakMap<SyncRequest, Promise<Map<string, Record<string, unknown>>>>();
const unreadCache = new WeakMap<SyncRequest, Promise<UnreadSetup>>();

/** Every membership row of the user as it is now (some may be newer than `upTo`: callers decide). */
export function membershipRows(app: AppContext, request: SyncRequest): Promise<MembershipRow[]> {
  let rows = membershipsCache.get(request);
  if (!rows) membershipsCache.set(request, (rows = membershipsOfUser(app.db, request.userId)));
  return rows;
}

export function joinedRoomIds(app: AppContext, request: SyncRequest): Promise<string[]> {
  let rooms = joinedCache.get(request);
  if (!rooms) {
    rooms = membershipRows(app, request).then((rows) =>
      rows
        .filter((row) => row.membership === 'join')
        // A join not yet visible at the response's room position arrives with the room itself in a later sync.
        .filter((row) => row.stream_ordering <= request.upTo.room)
        .filter((row) => (!request.filter.rooms || request.filter.rooms.has(row.room_id)) && !request.filter.notRooms.has(row.room_id))
        .map((row) => row.room_id),
    );
    joinedCache.set(request, rooms);
  }
  return rooms;
}

/** The user's ignore list and push rules, read in one query. */
function userSettings(app: AppContext, request: SyncRequest): Promise<Map<string, Record<string, unknown>>> {
  let settings = accountDataCache.get(request);
  if (!settings) {
    settings = globalAccountDataOfUsers(app.db, [request.userId], [IGNORED_USER_LIST, PUSH_RULES_TYPE]).then((byUser) => byUser.get(request.userId) ?? new Map());
    accountDataCache.set(request, settings);
  }
  return settings;
}

export function ignoredUsers(app: AppContext, request: SyncRequest): Promise<ReadonlySet<string>> {
  let ignored = ignoredCache.get(request);
  if (!ignored) ignoredCache.set(request, (ignored = userSettings(app, request).then((settings) => ignoredUsersFrom(settings.get(IGNORED_USER_LIST)))));
  return ignored;
}

/** `prev_batch` of a room section a non-timeline stream creates: its (empty) timeline starts at the response's room position. */
export function emptyTimelinePrevBatch(request: SyncRequest): string {
  return formatRoomPosition(request.upTo.room);
}

/** The user's push rules, display name and ignored users, for unread counts. */
export function unreadSetup(app: AppContext, request: SyncRequest): Promise<UnreadSetup> {
  let setup = unreadCache.get(request);
  if (!setup) {
    setup = Promise.all([userSettings(app, request), findUser(app.db, request.userId), ignoredUsers(app, request)]).then(([settings, user, ignored]) => ({
      userId: request.userId,
      ruleset: rulesetFrom(request.userId, settings.get(PUSH_RULES_TYPE)),
      displayName: user?.displayname ?? undefined,
      ignored,
    }));
    unreadCache.set(request, setup);
  }
  return setup;
}
