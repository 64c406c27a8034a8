import type { AppContext } from '../app-context.ts';
import { writeAccountData } from '../accounts/account-data.ts';
import { ErrCode, MatrixError } from '../errors.ts';
import { copyRoomPushRules } from '../push/push-rules.ts';
import { findAccountData, GLOBAL_ROOM } from '../storage/queries/account-data.ts';
import { currentStateEvents, findMembership } from '../storage/queries/room-state.ts';
import { spacesListing } from '../storage/queries/room-upgrade.ts';
import { withTransaction } from '../storage/transaction.ts';
import { sendEvent } from './persist-event.ts';

/** The room a room replaced (its create event's `predecessor`), if it is an upgrade. */
async function predecessorOf(app: AppContext, roomId: string): Promise<string | undefined> {
  const [create] = await currentStateEvents(app.db, roomId, [{ type: 'm.room.create', state_key: '' }]);
  const predecessor = create?.json.content.predecessor as { room_id?: unknown } | undefined;
  return typeof predecessor?.room_id === 'string' ? predecessor.room_id : undefined;
}

/**
 * What was the user's own about a room follows them into its replacement
 * (as Synapse does, when the upgrader upgrades and when anyone else first
 * joins the new room): their tags (`m.tag` room account data), the room's
 * place in their `m.direct` map, and their push rules for the room. Best
 * effort: the join or upgrade has already happened, so a failure (an account
 * at its account-data limit) is logged, not thrown.
 */
export async function copyUserStateFromPredecessor(app: AppContext, userId: string, roomId: string): Promise<void> {
  try {
    const oldRoomId = await predecessorOf(app, roomId);
    if (!oldRoomId || !(await findMembership(app.db, oldRoomId, userId))) return;
    await withTransaction(app.db, async (tx, hooks) => {
      const tags = await findAccountData(tx, userId, oldRoomId, 'm.tag');
      if (tags && (await findAccountData(tx, userId, roomId, 'm.tag')) === undefined) await writeAccountData(app, tx, hooks, { userId, roomId, type: 'm.tag' }, tags);
      const direct = await findAccountData(tx, userId, GLOBAL_ROOM, 'm.direct');
      const lists = Object.entries(direct ?? {}).filter((entry): entry is [string, unknown[]] => Array.isArray(entry[1]));
      const dmWith = lists.find(([, rooms]) => rooms.includes(oldRoomId));
      if (dmWith && !lists.some(([, rooms]) => rooms.includes(roomId))) {
        await writeAccountData(app, tx, hooks, { userId, roomId: undefined, type: 'm.direct' }, { ...direct, [dmWith[0]]: [...dmWith[1], roomId] });
      }
    });
    await copyRoomPushRules(app, userId, oldRoomId, roomId);
  } catch (error) {
    app.logger.warn({ err: error, userId, roomId }, 'could not carry the user’s tags, DM entry or push rules into the upgraded room');
  }
}

/**
 * Spaces that list the old room as a child list the new room instead, where
 * the upgrader may change the space (as Element does after an upgrade): the
 * child event is copied (its `via`, `order`, `suggested`) under the new room's
 * ID and the old room's is emptied. Spaces the upgrader may not edit keep the
 * old link; their admins see the tombstone.
 */
export async function linkParentSpacesToReplacement(app: AppContext, userId: string, oldRoomId: string, newRoomId: string): Promise<void> {
  for (const space of await spacesListing(app.db, oldRoomId)) {
    if (!Array.isArray(space.content.via) || space.content.via.length === 0) continue;
    try {
      await sendEvent(app, space.room_id, { sender: userId, type: 'm.space.child', stateKey: newRoomId, content: space.content });
      await sendEvent(app, space.room_id, { sender: userId, type: 'm.space.child', stateKey: oldRoomId, content: {} });
    } catch (error) {
      if (!(error instanceof MatrixError && error.errcode === ErrCode.FORBIDDEN)) app.logger.warn({ err: error, space: space.room_id }, 'could not link the upgraded room into its space');
    }
  }
}
