import type { Kysely, Transaction } from 'kysely';
import type { UsersTable } from './tables/users.ts';
import type { AccessTokensTable, DevicesTable } from './tables/devices.ts';
import type { RegistrationNoncesTable, RegistrationTokensTable, UiaSessionsTable } from './tables/registration.ts';
import type {
  CrossSigningKeysTable,
  DeviceKeysTable,
  DeviceListChangesTable,
  FallbackKeysTable,
  KeySignaturesTable,
  OneTimeKeysTable,
  RoomKeyBackupKeysTable,
  RoomKeyBackupVersionsTable,
  ToDeviceMessagesTable,
  ToDeviceTransactionsTable,
  DehydratedDevicesTable,
} from './tables/e2ee.ts';
import type {
  CurrentStateTable,
  EventsTable,
  EventTxnsTable,
  RoomAliasesTable,
  RoomMembershipsTable,
  RoomsTable,
  StateEventsTable,
  UserFiltersTable,
} from './tables/rooms.ts';
import type { AccountDataTable, PresenceTable, ReceiptsTable } from './tables/user-data.ts';
import type { AppserviceRegistrationsTable, AppserviceStateTable, AppserviceTransactionsTable } from './tables/appservices.ts';
import type { PushersTable, PushNotificationsTable, PushProgressTable } from './tables/push.ts';
import type { ChannelAuditTable, ChannelPoliciesTable } from './tables/channels.ts';
import type { AdminAuditTable } from './tables/admin-audit.ts';
import type { SlidingSyncConnectionsTable } from './tables/sliding-sync.ts';
import type { MediaContentTable, MediaTable, MediaThumbnailsTable, UrlPreviewsTable } from './tables/media.ts';

/** Every table, as kysely sees it. Columns are snake_case so rows map straight to Matrix JSON. */
export interface Database {
  users: UsersTable;
  rooms: RoomsTable;
  events: EventsTable;
  event_txns: EventTxnsTable;
  state_events: StateEventsTable;
  current_state: CurrentStateTable;
  room_memberships: RoomMembershipsTable;
  room_aliases: RoomAliasesTable;
  user_filters: UserFiltersTable;
  devices: DevicesTable;
  access_tokens: AccessTokensTable;
  registration_tokens: RegistrationTokensTable;
  registration_nonces: RegistrationNoncesTable;
  uia_sessions: UiaSessionsTable;
  device_keys: DeviceKeysTable;
  one_time_keys: OneTimeKeysTable;
  fallback_keys: FallbackKeysTable;
  cross_signing_keys: CrossSigningKeysTable;
  key_signatures: KeySignaturesTable;
  room_key_backup_versions: RoomKeyBackupVersionsTable;
  room_key_backup_keys: RoomKeyBackupKeysTable;
  device_list_changes: DeviceListChangesTable;
  to_device_messages: ToDeviceMessagesTable;
  to_device_transactions: ToDeviceTransactionsTable;
  dehydrated_devices: DehydratedDevicesTable;
  media_content: MediaContentTable;
  media: MediaTable;
  media_thumbnails: MediaThumbnailsTable;
  url_previews: UrlPreviewsTable;
  account_data: AccountDataTable;
  receipts: ReceiptsTable;
  presence: PresenceTable;
  appservice_state: AppserviceStateTable;
  appservice_transactions: AppserviceTransactionsTable;
  appservice_registrations: AppserviceRegistrationsTable;
  pushers: PushersTable;
  push_notifications: PushNotificationsTable;
  push_progress: PushProgressTable;
  channel_policies: ChannelPoliciesTable;
  channel_audit: ChannelAuditTable;
  admin_audit: AdminAuditTable;
  sliding_sync_connections: SlidingSyncConnectionsTable;
}

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Either a plain connection or a transaction: for queries that may run inside one. */
export type Queryable = Kysely<Database>;
