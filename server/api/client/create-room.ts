import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { invalidParam } from '../../errors.ts';
import { route } from '../../http/route.ts';
import { createRoom } from '../../rooms/create-room.ts';
import { EventContent, EventType, UserId } from './room-params.ts';

/** Invites in one createRoom call; more is a bulk operation, not a room creation. */
const MAX_INITIAL_INVITES = 100;
const MAX_INITIAL_STATE = 100;

const CreateRoomBody = z.looseObject({
  visibility: z.enum(['public', 'private']).optional(),
  room_alias_name: z.string().max(255).optional(),
  name: z.string().max(255).optional(),
  topic: z.string().max(4096).optional(),
  invite: z.array(UserId).max(MAX_INITIAL_INVITES).optional(),
  invite_3pid: z.array(z.unknown()).optional(),
  room_version: z.string().max(32).optional(),
  creation_content: EventContent.optional(),
  initial_state: z.array(z.looseObject({ type: EventType, state_key: z.string().max(255).optional(), content: EventContent })).max(MAX_INITIAL_STATE).optional(),
  preset: z.enum(['private_chat', 'trusted_private_chat', 'public_chat']).optional(),
  is_direct: z.boolean().optional(),
  power_level_content_override: EventContent.optional(),
});

export function mountCreateRoom(router: Router, app: AppContext): void {
  /**
   * POST /_matrix/client/v3/createRoom
   * The spec's event sequence in one transaction; unsupported room version is
   * M_UNSUPPORTED_ROOM_VERSION, a taken alias M_ROOM_IN_USE, a refused event M_FORBIDDEN.
   */
  route(router, app, { method: 'POST', path: '/_matrix/client/v3/createRoom', auth: 'user', body: CreateRoomBody }, async ({ app, caller, body }) => {
    if (body.invite_3pid?.length) throw invalidParam('invite_3pid is not supported: this server has no identity server');
    const { roomId, alias } = await createRoom(app, caller.userId, body, caller.appservice);
    return { room_id: roomId, ...(alias ? { room_alias: alias } : {}) };
  });
}
