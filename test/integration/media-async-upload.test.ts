import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { waitFor } from '../support/wait-for.ts';
import { cleanUpMedia } from '../../server/media/cleanup.ts';
import { storePreview } from '../../server/storage/queries/media-previews.ts';
import { authed, getMedia, mediaIdOf, patternStream, streamRequest, uploadBytes } from '../support/media.ts';

const MAX_UPLOAD = 256 * 1024;

function spoolFiles(server: TestServer): string[] {
  try {
    return readdirSync(join(server.dataDir, 'media', 'tmp'));
  } catch {
    return [];
  }
}

async function mediaRow(server: TestServer, mediaId: string) {
  return server.app.db.selectFrom('media').selectAll().where('media_id', '=', mediaId).executeTakeFirstOrThrow();
}

/**
 * Starts a PUT that declares `declared` bytes and sends `sent` of them, then
 * drops the connection (a client that lost its network): at once when
 * `whileSpooling` is false (the server may still be authenticating), or
 * once the server has started writing the body to its spool file.
 */
async function interruptedPut(server: TestServer, user: TestUser, path: string, declared: number, sent: number, whileSpooling: boolean): Promise<void> {
  const req = http.request(new URL(path, server.url), {
    method: 'PUT',
    headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/octet-stream', 'content-length': String(declared) },
  });
  req.on('error', () => undefined);
  await new Promise<void>((resolve) => req.write(Buffer.alloc(sent, 7), () => resolve()));
  if (whileSpooling) await waitFor('the server to spool the body', async () => (spoolFiles(server).length > 0 ? true : undefined));
  req.destroy();
}

describe('async upload: resumption after a failed PUT', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  before(async () => {
    server = await startTestServer({ max_upload_size: MAX_UPLOAD });
    alice = await registerUser(server.url, 'alice');
    bob = await registerUser(server.url, 'bob');
  });
  after(() => server.stop());

  const create = async (user: TestUser) => {
    const created = await request(server.url, 'POST', '/_matrix/media/v1/create', { token: user.accessToken, body: {} });
    assert.equal(created.status, 200);
    return mediaIdOf(created.body.content_uri);
  };

  test('a PUT cut off mid-body leaves the ID pending and nothing behind; the PUT is retried and a waiting download gets the bytes', async () => {
    const mediaId = await create(alice);
    const path = `/_matrix/media/v3/upload/localhost/${mediaId}`;
    // A reader is already waiting for the upload (the point of async uploads).
    const waiting = getMedia(server, authed(`download/localhost/${mediaId}?timeout_ms=20000`), bob.accessToken);

    for (const whileSpooling of [true, false]) {
      await interruptedPut(server, alice, path, 100_000, 40_000, whileSpooling);
      await waitFor('the aborted spool file to be removed', async () => (spoolFiles(server).length === 0 ? true : undefined));
      const pending = await mediaRow(server, mediaId);
      assert.equal(pending.sha256, null, 'still pending after the interrupted PUT');
      assert.equal(await server.app.db.selectFrom('media_content').selectAll().executeTakeFirst(), undefined);
    }

    const bytes = Buffer.from('the whole upload, sent again');
    const retried = await fetch(new URL(path, server.url), {
      method: 'PUT',
      headers: { authorization: `Bearer ${alice.accessToken}`, 'content-type': 'text/plain' },
      body: bytes,
    });
    assert.equal(retried.status, 200, await retried.clone().text());
    assert.deepEqual(await retried.json(), {});
    const got = await waiting;
    assert.equal(got.status, 200);
    assert.deepEqual(got.bytes, bytes);
    assert.equal(got.headers.get('content-type'), 'text/plain');
    // An aborted request must not leave a handler hanging on a body that never ends (it would keep its spool file).
    await waitFor('every aborted upload to be cleaned up', async () => (spoolFiles(server).length === 0 ? true : undefined));
  });

  test('an oversize PUT is refused mid-stream (413), leaves the ID pending and nothing behind; a retry within the limit succeeds', async () => {
    const mediaId = await create(alice);
    const path = `/_matrix/media/v3/upload/localhost/${mediaId}`;
    const contentBefore = await server.app.db.selectFrom('media_content').selectAll().execute();
    const refused = await streamRequest(server, 'PUT', path, patternStream(MAX_UPLOAD * 4, 16 * 1024), {
      authorization: `Bearer ${alice.accessToken}`,
      'content-type': 'application/octet-stream',
      'transfer-encoding': 'chunked',
    });
    assert.equal(refused.status, 413);
    assert.equal(refused.json.errcode, 'M_TOO_LARGE');
    assert.equal((await mediaRow(server, mediaId)).sha256, null);
    assert.deepEqual(await server.app.db.selectFrom('media_content').selectAll().execute(), contentBefore);
    await waitFor('no spool files', async () => (spoolFiles(server).length === 0 ? true : undefined));

    const retried = await streamRequest(server, 'PUT', path, patternStream(MAX_UPLOAD, 16 * 1024), {
      authorization: `Bearer ${alice.accessToken}`,
      'content-type': 'application/octet-stream',
      'content-length': String(MAX_UPLOAD),
    });
    assert.equal(retried.status, 200, JSON.stringify(retried.json));
    const got = await getMedia(server, authed(`download/localhost/${mediaId}`), alice.accessToken);
    assert.equal(got.bytes.length, MAX_UPLOAD);
    // Once filled it is never overwritten.
    const again = await fetch(new URL(path, server.url), { method: 'PUT', headers: { authorization: `Bearer ${alice.accessToken}` }, body: 'x' });
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as { errcode: string }).errcode, 'M_CANNOT_OVERWRITE_MEDIA');
  });
});

describe('media cleanup (the hourly job)', () => {
  let server: TestServer;
  let alice: TestUser;
  before(async () => {
    server = await startTestServer();
    alice = await registerUser(server.url, 'alice');
  });
  after(() => server.stop());

  test('expired unused media IDs, expired preview cache rows and stale spool files go; everything live stays', async () => {
    const create = async () => mediaIdOf((await request(server.url, 'POST', '/_matrix/media/v1/create', { token: alice.accessToken, body: {} })).body.content_uri);
    const [expired, live] = [await create(), await create()];
    await server.app.db.updateTable('media').set({ unused_expires_at: Date.now() - 1 }).where('media_id', '=', expired).execute();
    const uploaded = mediaIdOf((await uploadBytes(server, alice, Buffer.from('kept'))).body.content_uri);
    await storePreview(server.app.db, 'https://old.example/', { 'og:title': 'old' }, Date.now() - 7_200_000, 3_600_000);
    await storePreview(server.app.db, 'https://new.example/', { 'og:title': 'new' }, Date.now(), 3_600_000);
    const spool = join(server.dataDir, 'media', 'tmp');
    mkdirSync(spool, { recursive: true });
    writeFileSync(join(spool, 'stale'), 'left by a crash');
    const longAgo = new Date(Date.now() - 24 * 3_600_000);
    utimesSync(join(spool, 'stale'), longAgo, longAgo);
    writeFileSync(join(spool, 'in-flight'), 'an upload in progress');

    assert.deepEqual(await cleanUpMedia(server.app), { pendingMedia: 1, previews: 1, spoolFiles: 1 });
    const ids = (await server.app.db.selectFrom('media').select('media_id').execute()).map((row) => row.media_id).sort();
    assert.deepEqual(ids, [live, uploaded].sort());
    assert.deepEqual((await server.app.db.selectFrom('url_previews').select('url').execute()).map((row) => row.url), ['https://new.example/']);
    assert.deepEqual(spoolFiles(server), ['in-flight']);
    assert.deepEqual(await cleanUpMedia(server.app), { pendingMedia: 0, previews: 0, spoolFiles: 0 });
  });
});

describe('rc_media_create: the per-user upload rate limit', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  before(async () => {
    server = await startTestServer({ rc_media_create: { per_second: 0.01, burst_count: 3 }, url_preview_enabled: true });
    alice = await registerUser(server.url, 'alice');
    bob = await registerUser(server.url, 'bob');
  });
  after(() => server.stop());

  test('uploads and creates share one budget per user; past it 429 M_LIMIT_EXCEEDED with retry_after_ms and nothing stored', async () => {
    assert.equal((await uploadBytes(server, alice, Buffer.from('1'))).status, 200);
    assert.equal((await uploadBytes(server, alice, Buffer.from('2'))).status, 200);
    assert.equal((await request(server.url, 'POST', '/_matrix/media/v1/create', { token: alice.accessToken, body: {} })).status, 200);
    const count = async () => (await server.app.db.selectFrom('media').select('media_id').where('user_id', '=', alice.userId).execute()).length;
    const before = await count();

    const upload = await uploadBytes(server, alice, Buffer.from('one too many'));
    await assertRefusal(upload, { status: 429, errcode: 'M_LIMIT_EXCEEDED', method: 'POST', path: '/_matrix/media/v3/upload' });
    assert.ok(upload.body.retry_after_ms > 0);
    const create = await request(server.url, 'POST', '/_matrix/media/v1/create', { token: alice.accessToken, body: {} });
    await assertRefusal(create, { status: 429, errcode: 'M_LIMIT_EXCEEDED', method: 'POST', path: '/_matrix/media/v1/create' });
    assert.equal(await count(), before, 'nothing was stored');
    // An uncached URL preview is a fetch on the user's behalf: same budget (refused before any connection is made).
    const previewPath = `/_matrix/client/v1/media/preview_url?url=${encodeURIComponent('http://192.0.2.1/')}`;
    const preview = await request(server.url, 'GET', previewPath, { token: alice.accessToken });
    await assertRefusal(preview, { status: 429, errcode: 'M_LIMIT_EXCEEDED', method: 'GET', path: '/_matrix/client/v1/media/preview_url' });

    // Another user's budget is their own.
    assert.equal((await uploadBytes(server, bob, Buffer.from('bob'))).status, 200);
  });
});
