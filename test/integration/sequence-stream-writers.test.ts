import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createTestDatabase } from '../support/database.ts';
import { connectDatabase } from '../../server/storage/connection.ts';
import { withTransaction } from '../../server/storage/transaction.ts';
import { createNotifier } from '../../server/sync/notifier.ts';
import { createSequenceStream } from '../../server/sync/sequence-stream.ts';
import { waitFor } from '../support/wait-for.ts';
import { deferStack } from '../support/cleanup.ts';

/**
 * Two processes' receipt streams on one database (two stream objects, two
 * pools), with `serialiseWriters` as Redis configures them: a writer of one
 * holds the stream lock from allocating to commit, so the other's writer
 * waits, positions commit in order, and the other process shows an announced
 * position only once its own writer below it settled.
 */
test('serialised sequence-stream writers of two processes commit in position order, and readers never pass a writer', async (t) => {
  const defer = deferStack(t);
  const database = await createTestDatabase();
  defer(() => database.drop());
  const one = connectDatabase(database.url);
  defer(() => one.stop());
  const other = connectDatabase(database.url);
  defer(() => other.stop());
  const streamOne = await createSequenceStream(one.db, createNotifier(), 'receipt', 'receipt_stream_seq', { serialiseWriters: true });
  const streamOther = await createSequenceStream(other.db, createNotifier(), 'receipt', 'receipt_stream_seq', { serialiseWriters: true });
  const start = streamOther.currentPosition();
  assert.equal(streamOne.currentPosition(), start, 'both start at the sequence head');

  // The first process's writer allocates and holds its transaction open.
  let commitFirst!: () => void;
  const firstHeld = new Promise<void>((resolve) => (commitFirst = resolve));
  let firstPosition = 0;
  const firstAllocated = new Promise<void>((resolveAllocated) => {
    void withTransaction(one.db, async (tx, hooks) => {
      firstPosition = (await streamOne.allocate(tx, hooks)).position;
      resolveAllocated();
      await firstHeld;
    });
  });
  await firstAllocated;
  assert.equal(firstPosition, start + 1);

  // The other process's writer must wait for the lock before it takes a position.
  let secondPosition = 0;
  const second = withTransaction(other.db, async (tx, hooks) => {
    secondPosition = (await streamOther.allocate(tx, hooks)).position;
  });
  await waitFor('the second writer to wait on the stream lock', async () => {
    const { rows } = await sql<{ waiting: string }>`SELECT count(*) AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`.execute(one.db);
    return Number(rows[0].waiting) > 0 ? true : undefined;
  });
  assert.equal(secondPosition, 0, 'no position taken while the first writer is open');
  // The first process's position is not visible there yet; an announcement of it elsewhere is not possible yet either.
  assert.equal(streamOne.currentPosition(), start);

  // An announcement from the first process (after its commit) must not move the other past its own waiting writer.
  commitFirst();
  await waitFor('the first writer to commit', async () => (streamOne.currentPosition() === firstPosition ? true : undefined));
  streamOther.observeRemote(firstPosition, []);
  await second;
  assert.equal(secondPosition, firstPosition + 1, 'positions follow commit order');
  assert.equal(streamOther.currentPosition(), secondPosition, 'once its writer settled, the other shows both');
  streamOne.observeRemote(secondPosition, []);
  assert.equal(streamOne.currentPosition(), secondPosition, 'and the first follows the announcement at once (no writer of its own)');
});

test('an announced position is shown only once this process’s own writer in flight below it settles', async (t) => {
  const defer = deferStack(t);
  const database = await createTestDatabase();
  defer(() => database.drop());
  const handle = connectDatabase(database.url);
  defer(() => handle.stop());
  const stream = await createSequenceStream(handle.db, createNotifier(), 'presence', 'presence_stream_seq', { serialiseWriters: true });
  const start = stream.currentPosition();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let allocated = 0;
  const writer = withTransaction(handle.db, async (tx, hooks) => {
    allocated = (await stream.allocate(tx, hooks)).position;
    await held;
  });
  await waitFor('the writer to allocate', async () => (allocated > 0 ? true : undefined));
  // Another process announces a higher position (as if it wrote after this writer): not shown past the open writer.
  stream.observeRemote(allocated + 1, []);
  assert.equal(stream.currentPosition(), start, 'held back by the open writer');
  release();
  await writer;
  assert.equal(stream.currentPosition(), allocated + 1);
});
