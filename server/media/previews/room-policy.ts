import type { AppContext } from '../../app-context.ts';
import { forbidden, MatrixError } from '../../errors.ts';
import { currentStateEvents, findMembership } from '../../storage/queries/room-state.ts';

/** The room state clients already read for the preview setting (Element writes it too): `{"disable": boolean}`. */
export const PREVIEW_POLICY_EVENT = 'org.matrix.room.preview_urls';
export const PREVIEWS_DISABLED = 'ORG.PALISADE.PREVIEWS_DISABLED';

/**
 * The channel's link-preview policy, for a `preview_url` that names the room
 * the link was posted in. Fetching a page tells the linked site that someone
 * read the link, so previews are off in a room unless its state says
 * `disable: false` (the channel policy of issue 7 publishes that state).
 * Only members may ask: the answer would otherwise reveal a room's state.
 */
export async function assertPreviewAllowedInRoom(app: AppContext, userId: string, roomId: string | undefined): Promise<void> {
  if (roomId === undefined) return;
  const membership = await findMembership(app.db, roomId, userId);
  if (membership?.membership !== 'join') throw forbidden('You are not a member of the room named by room_id');
  const [policy] = await currentStateEvents(app.db, roomId, [{ type: PREVIEW_POLICY_EVENT, state_key: '' }]);
  const content = policy?.json.content as { disable?: unknown } | undefined;
  if (content?.disable !== false) {
    throw new MatrixError(PREVIEWS_DISABLED, `Link previews are off in this room (its ${PREVIEW_POLICY_EVENT} state does not enable them)`, { status: 403 });
  }
}
