import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, type TestServer } from '../support/server.ts';
import type { AccountDataTable, PresenceTable, ReceiptsTable } from '../../server/storage/tables/user-data.ts';
import { assertTableColumns } from '../support/table-columns.ts';

/** Column names per table; `satisfies` makes tsc fail when a table type and this list disagree. */
const COLUMNS = {
  account_data: { user_id: 1, room_id: 1, type: 1, content: 1, stream_id: 1 } satisfies Record<keyof AccountDataTable, 1>,
  receipts: { room_id: 1, receipt_type: 1, user_id: 1, thread_id: 1, event_id: 1, event_stream_ordering: 1, ts: 1, stream_id: 1 } satisfies Record<keyof ReceiptsTable, 1>,
  presence: { user_id: 1, presence: 1, status_msg: 1, last_active_ts: 1, stream_id: 1 } satisfies Record<keyof PresenceTable, 1>,
};

/** Incremental sync reads each of these streams by position. */
const INDEXES = ['account_data_user_stream_idx', 'receipts_room_stream_idx', 'presence_stream_idx'];
const SEQUENCES = ['account_data_stream_seq', 'receipt_stream_seq', 'presence_stream_seq'];

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.stop());

test('the migrated per-user tables have exactly the columns their table types declare', async () => {
  await assertTableColumns(server.app.db, COLUMNS);
});

test('the stream indexes and position sequences exist', async () => {
  const { rows } = await sql<{ indexname: string }>`SELECT indexname FROM pg_indexes WHERE schemaname = 'public'`.execute(server.app.db);
  for (const index of INDEXES) assert.ok(rows.some((row) => row.indexname === index), index);
  const sequences = await sql<{ sequencename: string }>`SELECT sequencename FROM pg_sequences`.execute(server.app.db);
  for (const sequence of SEQUENCES) assert.ok(sequences.rows.some((row) => row.sequencename === sequence), sequence);
});
