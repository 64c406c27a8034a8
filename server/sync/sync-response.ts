import type { ClientEvent } from '../rooms/client-event.ts';
import type { StreamName, StreamToken } from './stream-token.ts';

/** A room in `rooms.join` or `rooms.leave`. Others add ephemeral and account data as their streams arrive. */
export interface SyncRoom {
  timeline: { events: ClientEvent[]; limited: boolean; prev_batch: string };
  state: { events: ClientEvent[] };
  summary?: Record<string, unknown>;
  ephemeral?: { events: unknown[] };
  account_data?: { events: unknown[] };
  unread_notifications?: Record<string, number>;
  unread_thread_notifications?: Record<string, Record<string, number>>;
}

type StrippedState = { events: Array<Pick<ClientEvent, 'type' | 'state_key' | 'content' | 'sender'>> };

export interface InvitedRoom {
  invite_state: StrippedState;
}

export interface KnockedRoom {
  knock_state: StrippedState;
}

/**
 * Collects what each stream provider contributes and composes the /sync body.
 * It holds no rules: providers decide what belongs, this only assembles.
 */
export class SyncResponseBuilder {
  readonly join = new Map<string, SyncRoom>();
  readonly invite = new Map<string, InvitedRoom>();
  readonly leave = new Map<string, SyncRoom>();
  readonly knock = new Map<string, KnockedRoom>();
  /** Top-level sections other streams fill (to_device, device_lists, account_data, presence ...). */
  readonly sections = new Map<string, unknown>();
  /**
   * Top-level fields every response carries that are not changes (one-time key
   * counts, unused fallback key types): they never make a long-poll answer.
   */
  readonly status = new Map<string, unknown>();
  /**
   * A stream that delivered only part of (since, upTo] (to-device paging) sets
   * where it stopped; `next_batch` then carries that position for it.
   */
  readonly stoppedAt = new Map<StreamName, number>();

  /** The token this response covers: `upTo`, except where a stream stopped early. */
  nextToken(upTo: StreamToken): StreamToken {
    return { ...upTo, ...Object.fromEntries(this.stoppedAt) };
  }

  /**
   * A joined room's section for streams that add to it (ephemeral events, room
   * account data): the one the room-event stream built, or a new one with an
   * empty timeline when the room had no new events.
   */
  joinedRoom(roomId: string, prevBatch: string): SyncRoom & { ephemeral: { events: unknown[] }; account_data: { events: unknown[] } } {
    let room = this.join.get(roomId);
    if (!room) {
      room = { timeline: { events: [], limited: false, prev_batch: prevBatch }, state: { events: [] }, ephemeral: { events: [] }, account_data: { events: [] } };
      this.join.set(roomId, room);
    }
    room.ephemeral ??= { events: [] };
    room.account_data ??= { events: [] };
    return room as SyncRoom & { ephemeral: { events: unknown[] }; account_data: { events: unknown[] } };
  }

  /** Whether nothing changed: a long-poll keeps waiting while this is true. */
  isEmpty(): boolean {
    return this.join.size === 0 && this.invite.size === 0 && this.leave.size === 0 && this.knock.size === 0 && this.sections.size === 0;
  }

  toJSON(nextBatch: string): Record<string, unknown> {
    return {
      next_batch: nextBatch,
      rooms: {
        join: Object.fromEntries(this.join),
        invite: Object.fromEntries(this.invite),
        leave: Object.fromEntries(this.leave),
        knock: Object.fromEntries(this.knock),
      },
      ...Object.fromEntries(this.status),
      ...Object.fromEntries(this.sections),
    };
  }
}
