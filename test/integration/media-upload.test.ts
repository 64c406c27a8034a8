import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { assertRefusal } from '../support/refusals.ts';
import { authed, getMedia, legacy, mediaIdOf, patternStream, streamRequest, uploadBytes } from '../support/media.ts';
import { deleteMedia, quarantineMedia } from '../../server/media/quarantine.ts';

const MAX_UPLOAD = 1024 * 1024;

function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
  } catch {
    return [];
  }
}

async function countMedia(server: TestServer): Promise<{ media: number; content: number }> {
  const { rows } = await sql<{ media: number; content: number }>`
    SELECT (SELECT count(*)::int FROM media) AS media, (SELECT count(*)::int FROM media_content) AS content`.execute(server.app.db);
  return rows[0];
}

describe('media upload and download', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    server = await startTestServer({ max_upload_size: MAX_UPLOAD });
    alice = await registerUser(server.url, 'alice');
    bob = await registerUser(server.url, 'bob');
  });
  after(() => server.stop());

  test('upload, then download on the authenticated endpoint; the legacy endpoint refuses frozen media', async () => {
    const bytes = Buffer.from('hello media repository');
    const upload = await uploadBytes(server, alice, bytes, { contentType: 'text/plain', filename: 'hello.txt' });
    assert.equal(upload.status, 200, JSON.stringify(upload.body));
    await assertMatchesSpec({ method: 'POST', path: '/_matrix/media/v3/upload', status: 200, body: upload.body });
    assert.match(upload.body.content_uri, /^mxc:\/\/localhost\/[A-Za-z0-9_-]+$/);
    const mediaId = mediaIdOf(upload.body.content_uri);

    const download = await getMedia(server, authed(`download/localhost/${mediaId}`), bob.accessToken);
    assert.equal(download.status, 200);
    assert.deepEqual(download.bytes, bytes);
    assert.equal(download.headers.get('content-type'), 'text/plain');
    assert.equal(download.headers.get('content-disposition'), 'inline; filename="hello.txt"');
    assert.equal(download.headers.get('x-content-type-options'), 'nosniff');
    assert.match(download.headers.get('content-security-policy') ?? '', /sandbox/);
    assert.match(download.headers.get('content-security-policy') ?? '', /default-src 'none'/);

    const renamed = await getMedia(server, authed(`download/localhost/${mediaId}/other%20name.txt`), bob.accessToken);
    assert.equal(renamed.headers.get('content-disposition'), 'inline; filename="other name.txt"');

    const anonymous = await getMedia(server, authed(`download/localhost/${mediaId}`));
    assert.equal(anonymous.status, 401);
    // enable_authenticated_media is on by default: new media is frozen out of the legacy endpoint.
    const frozen = await getMedia(server, legacy(`download/localhost/${mediaId}`));
    assert.equal(frozen.status, 404);
    assert.equal(frozen.json.errcode, 'M_NOT_FOUND');
  });

  test('HTML and other active content is served as an attachment, never inline', async () => {
    for (const [type, name] of [
      ['text/html', 'page.html'],
      ['image/svg+xml', 'drawing.svg'],
      ['application/javascript', 'x.js'],
    ]) {
      const upload = await uploadBytes(server, alice, Buffer.from('<script>alert(1)</script>'), { contentType: type, filename: name });
      const download = await getMedia(server, authed(`download/localhost/${mediaIdOf(upload.body.content_uri)}`), alice.accessToken);
      assert.equal(download.headers.get('content-disposition'), `attachment; filename="${name}"`, type);
      assert.equal(download.headers.get('x-content-type-options'), 'nosniff');
      assert.match(download.headers.get('content-security-policy') ?? '', /sandbox/);
    }
  });

  test('filenames are sanitised; a missing Content-Type is octet-stream', async () => {
    const upload = await uploadBytes(server, alice, Buffer.from('x'), { filename: 'a\r\nb/../"c".bin' });
    const download = await getMedia(server, authed(`download/localhost/${mediaIdOf(upload.body.content_uri)}`), alice.accessToken);
    assert.equal(download.headers.get('content-type'), 'application/octet-stream');
    assert.equal(download.headers.get('content-disposition'), 'attachment; filename="a__b_.._\\"c\\".bin"');
    const unicode = await uploadBytes(server, alice, Buffer.from('x'), { contentType: 'text/plain', filename: 'résumé.txt' });
    const got = await getMedia(server, authed(`download/localhost/${mediaIdOf(unicode.body.content_uri)}`), alice.accessToken);
    assert.equal(got.headers.get('content-disposition'), `inline; filename="r_sum_.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt`);
  });

  test('config reports m.upload.size on both paths', async () => {
    for (const path of ['/_matrix/client/v1/media/config', '/_matrix/media/v3/config']) {
      const result = await request(server.url, 'GET', path, { token: alice.accessToken });
      assert.equal(result.status, 200);
      assert.deepEqual(result.body, { 'm.upload.size': MAX_UPLOAD });
      await assertMatchesSpec({ method: 'GET', path, status: 200, body: result.body });
    }
  });

  test('unknown media, bad media IDs and other servers are 404 M_NOT_FOUND', async () => {
    for (const path of [authed('download/localhost/doesnotexist'), authed('download/localhost/bad.id'), authed('download/elsewhere.org/abc')]) {
      const result = await getMedia(server, path, alice.accessToken);
      assert.equal(result.status, 404, path);
      assert.equal(result.json.errcode, 'M_NOT_FOUND');
    }
  });

  test('identical uploads are stored once and counted', async () => {
    const bytes = Buffer.from(`same bytes ${Date.now()}`);
    const first = await uploadBytes(server, alice, bytes, { contentType: 'text/plain' });
    const second = await uploadBytes(server, bob, bytes, { contentType: 'text/plain' });
    assert.notEqual(first.body.content_uri, second.body.content_uri);
    const rows = await server.app.db.selectFrom('media').select(['sha256']).where('media_id', 'in', [mediaIdOf(first.body.content_uri), mediaIdOf(second.body.content_uri)]).execute();
    assert.equal(rows[0].sha256, rows[1].sha256);
    const content = await server.app.db.selectFrom('media_content').selectAll().where('sha256', '=', rows[0].sha256!).executeTakeFirstOrThrow();
    assert.equal(content.refcount, 2);
    const stored = filesUnder(join(server.dataDir, 'media', 'content')).filter((path) => path.endsWith(rows[0].sha256!));
    assert.equal(stored.length, 1);

    // Deleting one keeps the bytes for the other; deleting both removes them.
    await deleteMedia(server.app, mediaIdOf(first.body.content_uri), 'test');
    assert.equal((await getMedia(server, authed(`download/localhost/${mediaIdOf(first.body.content_uri)}`), alice.accessToken)).status, 404);
    assert.deepEqual((await getMedia(server, authed(`download/localhost/${mediaIdOf(second.body.content_uri)}`), alice.accessToken)).bytes, bytes);
    await deleteMedia(server.app, mediaIdOf(second.body.content_uri), 'test');
    assert.equal(filesUnder(join(server.dataDir, 'media', 'content')).filter((path) => path.endsWith(rows[0].sha256!)).length, 0);
    assert.equal(await server.app.db.selectFrom('media_content').selectAll().where('sha256', '=', rows[0].sha256!).executeTakeFirst(), undefined);
  });

  test('quarantined media is never served again', async () => {
    const upload = await uploadBytes(server, alice, Buffer.from('bad content'), { contentType: 'text/plain' });
    const mediaId = mediaIdOf(upload.body.content_uri);
    await quarantineMedia(server.app, mediaId, alice.userId);
    const result = await getMedia(server, authed(`download/localhost/${mediaId}`), alice.accessToken);
    assert.equal(result.status, 404);
    assert.equal(result.json.errcode, 'M_NOT_FOUND');
  });

  test('an oversize upload is refused mid-stream (no Content-Length) and leaves nothing behind', async () => {
    const before = await countMedia(server);
    const result = await streamRequest(server, 'POST', '/_matrix/media/v3/upload', patternStream(MAX_UPLOAD * 4, 64 * 1024), {
      authorization: `Bearer ${alice.accessToken}`,
      'content-type': 'application/octet-stream',
      'transfer-encoding': 'chunked',
    });
    assert.equal(result.status, 413);
    assert.equal(result.json.errcode, 'M_TOO_LARGE');
    assert.deepEqual(await countMedia(server), before);
    assert.deepEqual(filesUnder(join(server.dataDir, 'media', 'tmp')), []);

    const declared = await streamRequest(server, 'POST', '/_matrix/media/v3/upload', patternStream(MAX_UPLOAD + 1), {
      authorization: `Bearer ${alice.accessToken}`,
      'content-length': String(MAX_UPLOAD + 1),
    });
    assert.equal(declared.status, 413);
    assert.deepEqual(await countMedia(server), before);
    // The server still answers on new connections.
    assert.equal((await uploadBytes(server, alice, Buffer.from('still fine'))).status, 200);
  });

  test('async upload: create, then PUT once; a second PUT, another user and unknown IDs are refused', async () => {
    const created = await request(server.url, 'POST', '/_matrix/media/v1/create', { token: alice.accessToken, body: {} });
    assert.equal(created.status, 200);
    await assertMatchesSpec({ method: 'POST', path: '/_matrix/media/v1/create', status: 200, body: created.body });
    assert.ok(created.body.unused_expires_at > Date.now());
    const mediaId = mediaIdOf(created.body.content_uri);
    const putPath = `/_matrix/media/v3/upload/localhost/${mediaId}`;

    const pending = await getMedia(server, authed(`download/localhost/${mediaId}?timeout_ms=0`), alice.accessToken);
    assert.equal(pending.status, 504);
    assert.equal(pending.json.errcode, 'M_NOT_YET_UPLOADED');

    const put = (user: TestUser, path = putPath) =>
      fetch(new URL(path, server.url), { method: 'PUT', headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'text/plain' }, body: 'later bytes' }).then(
        async (response) => ({ status: response.status, body: await response.json(), headers: response.headers }),
      );
    // A download waiting for the upload gets it when it arrives.
    const waiting = getMedia(server, authed(`download/localhost/${mediaId}?timeout_ms=10000`), bob.accessToken);
    await assertRefusal(await put(bob), { status: 403, errcode: 'M_FORBIDDEN', method: 'PUT', path: putPath });
    const first = await put(alice);
    assert.equal(first.status, 200);
    await assertMatchesSpec({ method: 'PUT', path: putPath, status: 200, body: first.body });
    assert.equal((await waiting).bytes.toString(), 'later bytes');
    await assertRefusal(await put(alice), { status: 409, errcode: 'M_CANNOT_OVERWRITE_MEDIA', method: 'PUT', path: putPath });
    const unknown = '/_matrix/media/v3/upload/localhost/unknownMediaId';
    await assertRefusal(await put(alice, unknown), { status: 404, errcode: 'M_NOT_FOUND', method: 'PUT', path: unknown });

    const expired = await request(server.url, 'POST', '/_matrix/media/v1/create', { token: alice.accessToken, body: {} });
    const expiredId = mediaIdOf(expired.body.content_uri);
    await server.app.db.updateTable('media').set({ unused_expires_at: Date.now() - 1 }).where('media_id', '=', expiredId).execute();
    const expiredPath = `/_matrix/media/v3/upload/localhost/${expiredId}`;
    await assertRefusal(await put(alice, expiredPath), { status: 404, errcode: 'M_NOT_FOUND', method: 'PUT', path: expiredPath });
  });
});

describe('media quota and legacy access', () => {
  let server: TestServer;
  let carol: TestUser;
  before(async () => {
    server = await startTestServer({ media_upload_quota: 100, enable_authenticated_media: false });
    carol = await registerUser(server.url, 'carol');
  });
  after(() => server.stop());

  test('uploads past the quota are 403 M_FORBIDDEN; legacy download works when the freeze is off', async () => {
    const first = await uploadBytes(server, carol, Buffer.alloc(80, 1), { contentType: 'image/png' });
    assert.equal(first.status, 200);
    const over = await uploadBytes(server, carol, Buffer.alloc(30, 2));
    await assertRefusal(over, { status: 403, errcode: 'M_FORBIDDEN', method: 'POST', path: '/_matrix/media/v3/upload' });
    const viaLegacy = await getMedia(server, legacy(`download/localhost/${mediaIdOf(first.body.content_uri)}`));
    assert.equal(viaLegacy.status, 200);
    assert.equal(viaLegacy.bytes.length, 80);
  });

  test('the quota is enforced while streaming, and concurrent uploads cannot overrun it together', async () => {
    const dave = await registerUser(server.url, 'dave');
    const daveMedia = async () => (await server.app.db.selectFrom('media').select(['size']).where('user_id', '=', dave.userId).execute()).map((row) => Number(row.size));
    const chunked = await streamRequest(server, 'POST', '/_matrix/media/v3/upload', patternStream(10_000, 10), {
      authorization: `Bearer ${dave.accessToken}`,
      'transfer-encoding': 'chunked',
    });
    assert.equal(chunked.status, 403);
    assert.equal(chunked.json.errcode, 'M_FORBIDDEN');
    assert.deepEqual(await daveMedia(), []);
    assert.deepEqual(filesUnder(join(server.dataDir, 'media', 'tmp')), []);

    // Six uploads of 30 bytes at once against a quota of 100: exactly three fit.
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => uploadBytes(server, dave, Buffer.alloc(30, n))));
    assert.deepEqual(results.map((result) => result.status).sort(), [200, 200, 200, 403, 403, 403]);
    assert.deepEqual(await daveMedia(), [30, 30, 30]);
  });
});
