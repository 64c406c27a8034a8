import type { Generated, Selectable } from 'kysely';

/** An HTTP pusher (spec: /pushers/set), owned by the access token that set it. */
export interface PushersTable {
  id: Generated<number>;
  user_id: string;
  access_token_hash: Buffer;
  device_id: string;
  kind: string;
  app_id: string;
  pushkey: string;
  pushkey_ts: number;
  app_display_name: string;
  device_display_name: string;
  profile_tag: string | null;
  lang: string;
  data: Record<string, unknown>;
  /** The newest notification sent (or given up on) through this pusher. */
  last_notification_id: Generated<number>;
  /** The room-event position when it was set: events at or before it are never pushed through it. */
  from_stream_ordering: Generated<number>;
}

/** An event a user's push rules said `notify` for (spec: GET /notifications). */
export interface PushNotificationsTable {
  id: Generated<number>;
  user_id: string;
  room_id: string;
  event_id: string;
  stream_ordering: number;
  actions: unknown[];
  highlight: boolean;
  ts: number;
  /** 'main', or the root event ID of the thread the event is a reply in. */
  thread_id: Generated<string>;
}

/** One row: the newest visible room-event position announced, and how far push evaluation has got. */
export interface PushProgressTable {
  id: Generated<boolean>;
  announced: number;
  evaluated: number;
}

export type PusherRow = Selectable<PushersTable>;
export type PushNotificationRow = Selectable<PushNotificationsTable>;
