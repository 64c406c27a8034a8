import type { AppContext } from '../app-context.ts';
import { currentStateEvents } from '../storage/queries/room-state.ts';
import { canonicalJson } from './canonical-json.ts';

/**
 * Setting state to what it already is, by the sender who set it, is a no-op
 * that answers with the existing event ID (as Synapse does), so a client
 * retrying a state change does not grow the room's history.
 */
export async function unchangedStateEventId(app: AppContext, roomId: string, sender: string, type: string, stateKey: string, content: unknown): Promise<string | undefined> {
  const [current] = await currentStateEvents(app.db, roomId, [{ type, state_key: stateKey }]);
  if (!current || current.sender !== sender) return undefined;
  return canonicalJson(current.json.content) === canonicalJson(content) ? current.event_id : undefined;
}
