import { z } from 'zod';

/** Path and body pieces shared by the room handlers. */
export const RoomId = z.string().regex(/^![^:]+:.+$/, 'expected a room ID such as !abc:example.org').max(255);
export const UserId = z.string().regex(/^@[^:]+:.+$/, 'expected a user ID such as @alice:example.org').max(255);
export const EventId = z.string().regex(/^\$.+$/, 'expected an event ID starting with $').max(255);
export const EventType = z.string().min(1).max(255);
export const TxnId = z.string().min(1).max(255);
/** Event content: any JSON object. */
export const EventContent = z.record(z.string(), z.unknown());
export const RoomParams = z.object({ roomId: RoomId });
export const Reason = z.string().max(1024).optional();
