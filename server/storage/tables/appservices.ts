import type { Generated, Selectable } from 'kysely';

/** Delivery progress of one appservice over the room-event stream. */
export interface AppserviceStateTable {
  appservice_id: string;
  /** Events up to here are in a transaction: delivered, or the pending one. */
  stream_position: number;
  /** Highest room-event position the writing processes announced visible; delivery never reads past it. */
  visible_position: number;
  next_txn_id: Generated<number>;
  /** To-device messages (MSC2409) up to this to-device stream position are in a transaction. */
  to_device_position: Generated<number>;
  /** Read receipts (MSC2409) up to this receipt stream position are in a transaction. */
  receipt_position: Generated<number>;
  /** Presence changes (MSC2409) up to this presence stream position are in a transaction. */
  presence_position: Generated<number>;
  /** Device-list changes (MSC3202) up to this device-list stream position are in a transaction. */
  device_list_position: Generated<number>;
  /** Highest receipt position API processes announced visible (what a worker may read up to). */
  receipt_visible_position: Generated<number>;
  /** Highest presence position API processes announced visible. */
  presence_visible_position: Generated<number>;
}

/** A transaction built but not yet acknowledged: a retry resends exactly this. */
export interface AppserviceTransactionsTable {
  appservice_id: string;
  txn_id: number;
  events: unknown[];
  ephemeral: Generated<unknown[]>;
  to_device: Generated<unknown[]>;
  /** Extra top-level transaction fields (MSC3202 key counts), fixed when the transaction was built. */
  extensions: Generated<Record<string, unknown>>;
  last_position: number;
  created_ts: number;
}

export type AppserviceStateRow = Selectable<AppserviceStateTable>;
export type AppserviceTransactionRow = Selectable<AppserviceTransactionsTable>;

/** A registration added through the admin API, in the registration file's shape. */
export interface AppserviceRegistrationsTable {
  appservice_id: string;
  registration: Record<string, unknown>;
  updated_ts: number;
}
