import assert from 'node:assert/strict';
import { z } from 'zod';
import { assertEventMatchesSpec } from './spec-schema.ts';

/**
 * The simplified sliding sync response (MSC4186) as a zod schema. There is no
 * official JSON schema for it; this follows the MSC's tables and the shape
 * Synapse serves on the unstable endpoint (`timeline`, `invite_state`,
 * extensions as MSC3884/3885/3959/3960/3961 define them). Room results are
 * strict, so a misspelt field fails.
 */
const StrippedEvent = z.looseObject({ type: z.string(), state_key: z.string(), sender: z.string(), content: z.record(z.string(), z.unknown()) });
const ClientEvent = z.looseObject({ type: z.string(), sender: z.string(), event_id: z.string(), origin_server_ts: z.number().int(), content: z.record(z.string(), z.unknown()) });
const StateEvent = ClientEvent.extend({ state_key: z.string() });
const Count = z.number().int().min(0);

export const RoomResultSchema = z.strictObject({
  membership: z.enum(['join', 'invite', 'knock', 'leave', 'ban']).optional(),
  bump_stamp: z.number().int().optional(),
  lists: z.array(z.string()).optional(),
  name: z.string().nullable().optional(),
  avatar: z.string().nullable().optional(),
  heroes: z.array(z.strictObject({ user_id: z.string(), displayname: z.string().optional(), avatar_url: z.string().optional() })).optional(),
  is_dm: z.boolean().optional(),
  initial: z.boolean().optional(),
  expanded_timeline: z.boolean().optional(),
  required_state: z.array(StateEvent).optional(),
  timeline: z.array(ClientEvent).optional(),
  prev_batch: z.string().optional(),
  limited: z.boolean().optional(),
  num_live: Count.optional(),
  joined_count: Count.optional(),
  invited_count: Count.optional(),
  notification_count: Count.optional(),
  highlight_count: Count.optional(),
  invite_state: z.array(StrippedEvent).optional(),
});

const EphemeralByRoom = (type: string) => z.record(z.string(), z.strictObject({ type: z.literal(type), content: z.record(z.string(), z.unknown()) }));

export const SlidingSyncResponseSchema = z.strictObject({
  pos: z.string().min(1),
  lists: z.record(z.string(), z.looseObject({ count: Count })).optional(),
  rooms: z.record(z.string().startsWith('!'), RoomResultSchema).optional(),
  extensions: z
    .strictObject({
      to_device: z.strictObject({ next_batch: z.string(), events: z.array(z.looseObject({ sender: z.string(), type: z.string(), content: z.record(z.string(), z.unknown()) })) }).optional(),
      e2ee: z
        .strictObject({
          device_one_time_keys_count: z.record(z.string(), Count),
          device_unused_fallback_key_types: z.array(z.string()),
          device_lists: z.strictObject({ changed: z.array(z.string()), left: z.array(z.string()) }).optional(),
        })
        .optional(),
      account_data: z
        .strictObject({
          global: z.array(z.strictObject({ type: z.string(), content: z.record(z.string(), z.unknown()) })),
          rooms: z.record(z.string(), z.array(z.strictObject({ type: z.string(), content: z.record(z.string(), z.unknown()) }))),
        })
        .optional(),
      receipts: z.strictObject({ rooms: EphemeralByRoom('m.receipt') }).optional(),
      typing: z.strictObject({ rooms: EphemeralByRoom('m.typing') }).optional(),
    })
    .optional(),
});

export type SlidingSyncResponse = z.output<typeof SlidingSyncResponseSchema>;

/** Asserts the response's shape, and each timeline and state event against the spec's event schema. */
export async function assertSlidingSyncResponse(body: unknown): Promise<SlidingSyncResponse> {
  const parsed = SlidingSyncResponseSchema.safeParse(body);
  assert.ok(parsed.success, `sliding sync response does not match MSC4186: ${parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 3))}\n${JSON.stringify(body).slice(0, 2000)}`);
  for (const [roomId, room] of Object.entries(parsed.data.rooms ?? {})) {
    for (const event of [...(room.timeline ?? []), ...(room.required_state ?? [])]) await assertEventMatchesSpec({ ...event, room_id: roomId });
  }
  return parsed.data;
}
