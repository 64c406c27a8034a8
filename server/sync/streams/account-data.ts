import { accountDataBetween, GLOBAL_ROOM } from '../../storage/queries/account-data.ts';
import { PUSH_RULES_TYPE, rulesetFrom } from '../../push/push-rules.ts';
import type { StreamProvider } from './provider.ts';
import { emptyTimelinePrevBatch, joinedRoomIds } from './request-scope.ts';

/**
 * The account-data stream: the top-level `account_data` (global) and each
 * joined room's `account_data`. Initial sync: everything; incremental: what
 * changed since the token (each type once, at its latest content).
 * `m.push_rules` is sent as the rules in force (the server's defaults merged
 * with the user's changes, as GET /pushrules answers), and an initial sync
 * carries it even before the user changed any rule, as clients expect.
 */
export const accountDataProvider: StreamProvider = {
  name: 'account_data',
  latest: (app) => app.accountDataStream.currentPosition(),
  // Only changes in the range are sent; the joined rooms (room stream) only narrow them.
  dependsOn: ['account_data'],
  async collect(app, request, response) {
    const { accountDataTypes, roomAccountDataTypes } = request.filter;
    const rows = (await accountDataBetween(app.db, request.userId, request.since?.account_data, request.upTo.account_data)).filter((row) =>
      row.room_id === GLOBAL_ROOM ? accountDataTypes(row.type) : roomAccountDataTypes(row.type),
    );
    const global = rows.filter((row) => row.room_id === GLOBAL_ROOM).map((row) => ({ type: row.type, content: row.type === PUSH_RULES_TYPE ? pushRulesContent(request.userId, row.content) : row.content }));
    if (!request.since && accountDataTypes(PUSH_RULES_TYPE) && !global.some((event) => event.type === PUSH_RULES_TYPE)) {
      global.push({ type: PUSH_RULES_TYPE, content: pushRulesContent(request.userId, undefined) });
    }
    if (global.length > 0) response.sections.set('account_data', { events: global });
    const perRoom = rows.filter((row) => row.room_id !== GLOBAL_ROOM);
    if (perRoom.length === 0) return;
    const joined = new Set(await joinedRoomIds(app, request));
    for (const row of perRoom) {
      if (!joined.has(row.room_id)) continue;
      response.joinedRoom(row.room_id, emptyTimelinePrevBatch(request)).account_data.events.push({ type: row.type, content: row.content });
    }
  },
};

function pushRulesContent(userId: string, stored: Record<string, unknown> | undefined): Record<string, unknown> {
  return { global: rulesetFrom(userId, stored) };
}
