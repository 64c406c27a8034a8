import type { Migration } from 'kysely';
import * as accounts from './0001-accounts.ts';
import * as rooms from './0002-rooms.ts';
import * as e2ee from './0003-e2ee.ts';
import * as media from './0004-media.ts';
import * as userData from './0005-user-data.ts';
import * as appservices from './0006-appservices.ts';
import * as dehydratedDevices from './0007-dehydrated-devices.ts';
import * as relations from './0008-relations.ts';
import * as pushers from './0009-pushers.ts';
import * as searchIndex from './0010-search-index.ts';
import * as channels from './0011-channels.ts';
import * as adminAudit from './0012-admin-audit.ts';
import * as appserviceEphemeral from './0013-appservice-ephemeral.ts';
import * as slidingSync from './0014-sliding-sync.ts';
import * as pushNotificationThreads from './0015-push-notification-threads.ts';
import * as pusherStart from './0016-pusher-start.ts';

/** Every migration, in order. Never edit one that has been merged; add a new one. */
export const migrations: Record<string, Migration> = {
  '0001-accounts': accounts,
  '0002-rooms': rooms,
  '0003-e2ee': e2ee,
  '0004-media': media,
  '0005-user-data': userData,
  '0006-appservices': appservices,
  '0007-dehydrated-devices': dehydratedDevices,
  '0008-relations': relations,
  '0009-pushers': pushers,
  '0010-search-index': searchIndex,
  '0011-channels': channels,
  '0012-admin-audit': adminAudit,
  '0013-appservice-ephemeral': appserviceEphemeral,
  '0014-sliding-sync': slidingSync,
  '0015-push-notification-threads': pushNotificationThreads,
  '0016-pusher-start': pusherStart,
};
