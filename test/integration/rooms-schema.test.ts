import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertTableColumns } from '../support/table-columns.ts';
import { sql } from 'kysely';
import { startTestServer, type TestServer } from '../support/server.ts';
import type {
  CurrentStateTable,
  EventsTable,
  EventTxnsTable,
  RoomAliasesTable,
  RoomMembershipsTable,
  RoomsTable,
  StateEventsTable,
  UserFiltersTable,
} from '../../server/storage/tables/rooms.ts';

/** Column names per table; `satisfies` makes tsc fail when a table type and this list disagree. */
const COLUMNS = {
  rooms: { room_id: 1, room_version: 1, creator: 1, created_ts: 1, is_public: 1, latest_event_id: 1, latest_depth: 1 } satisfies Record<keyof RoomsTable, 1>,
  events: {
    event_id: 1,
    room_id: 1,
    stream_ordering: 1,
    depth: 1,
    type: 1,
    state_key: 1,
    sender: 1,
    origin_server_ts: 1,
    json: 1,
    redacted_because: 1,
    txn_device_id: 1,
    txn_id: 1,
  } satisfies Record<keyof EventsTable, 1>,
  event_txns: { user_id: 1, device_id: 1, scope: 1, txn_id: 1, event_id: 1, created_ts: 1 } satisfies Record<keyof EventTxnsTable, 1>,
  state_events: { room_id: 1, type: 1, state_key: 1, event_id: 1, stream_ordering: 1 } satisfies Record<keyof StateEventsTable, 1>,
  current_state: { room_id: 1, type: 1, state_key: 1, event_id: 1 } satisfies Record<keyof CurrentStateTable, 1>,
  room_memberships: { room_id: 1, user_id: 1, membership: 1, event_id: 1, stream_ordering: 1, forgotten: 1 } satisfies Record<keyof RoomMembershipsTable, 1>,
  room_aliases: { room_alias: 1, room_id: 1, creator: 1, created_ts: 1 } satisfies Record<keyof RoomAliasesTable, 1>,
  user_filters: { user_id: 1, filter_id: 1, filter: 1, created_ts: 1 } satisfies Record<keyof UserFiltersTable, 1>,
};

/** The indexes /sync and /messages rely on so their cost follows what changed, not history length. */
const INDEXES = ['events_room_stream_idx', 'state_events_room_stream_idx', 'room_memberships_user_stream_idx', 'room_memberships_user_idx', 'room_memberships_room_idx'];

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.stop());

test('the migrated room tables have exactly the columns their table types declare', async () => {
  await assertTableColumns(server.app.db, COLUMNS);
});

test('the indexes sync and pagination need exist, and positions come from a sequence', async () => {
  const { rows } = await sql<{ indexname: string }>`SELECT indexname FROM pg_indexes WHERE schemaname = 'public'`.execute(server.app.db);
  const names = rows.map((row) => row.indexname);
  for (const index of INDEXES) assert.ok(names.includes(index), index);
  const sequence = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_sequences WHERE sequencename = 'room_event_stream_seq'`.execute(server.app.db);
  assert.equal(sequence.rows[0].n, 1);
});
