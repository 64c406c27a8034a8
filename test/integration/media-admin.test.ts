import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { authed, getMedia, legacy, mediaIdOf, uploadBytes } from '../support/media.ts';
import { deleteMediaByMxcUris, deleteMediaOfPurgedEvents, mxcUrisOfContent } from '../../server/media/purge.ts';

function storedFiles(server: TestServer, under: 'content' | 'thumbnails'): string[] {
  try {
    return readdirSync(join(server.dataDir, 'media', under), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name));
  } catch {
    return [];
  }
}

async function shaOf(server: TestServer, mediaId: string): Promise<string> {
  return (await server.app.db.selectFrom('media').select('sha256').where('media_id', '=', mediaId).executeTakeFirstOrThrow()).sha256!;
}

describe('media admin API: quarantine and delete', () => {
  let server: TestServer;
  let admin: TestUser;
  let alice: TestUser;
  let image: Buffer;

  before(async () => {
    // The freeze off, so the legacy unauthenticated endpoints serve media too and their refusals can be seen.
    server = await startTestServer({ enable_authenticated_media: false });
    admin = await registerUser(server.url, 'root', { admin: true });
    alice = await registerUser(server.url, 'alice');
    image = await sharp({ create: { width: 200, height: 100, channels: 3, background: { r: 9, g: 99, b: 199 } } }).png().toBuffer();
  });
  after(() => server.stop());

  const adminCall = (method: string, path: string, user: TestUser | undefined) => request(server.url, method, path, { token: user?.accessToken });
  const allPaths = (mediaId: string) => [
    authed(`download/localhost/${mediaId}`),
    authed(`thumbnail/localhost/${mediaId}?width=32&height=32&method=crop`),
    legacy(`download/localhost/${mediaId}`),
    legacy(`thumbnail/localhost/${mediaId}?width=32&height=32&method=crop`),
  ];
  async function statuses(mediaId: string): Promise<number[]> {
    return Promise.all(allPaths(mediaId).map(async (path) => (await getMedia(server, path, alice.accessToken)).status));
  }
  async function assertGone(mediaId: string): Promise<void> {
    for (const path of allPaths(mediaId)) {
      const result = await getMedia(server, path, alice.accessToken);
      assert.equal(result.status, 404, path);
      assert.equal(result.json.errcode, 'M_NOT_FOUND', path);
    }
  }

  test('quarantine: refused to non-admins and anonymous callers; by an admin, every endpoint answers 404 until lifted', async () => {
    const mediaId = mediaIdOf((await uploadBytes(server, alice, image, { contentType: 'image/png' })).body.content_uri);
    assert.deepEqual(await statuses(mediaId), [200, 200, 200, 200]);
    const path = `/_synapse/admin/v1/media/quarantine/localhost/${mediaId}`;

    await assertRefusal(await adminCall('POST', path, alice), { status: 403, errcode: 'M_FORBIDDEN', method: 'POST', path, checkSpec: false });
    await assertRefusal(await adminCall('POST', path, undefined), { status: 401, errcode: 'M_MISSING_TOKEN', method: 'POST', path, checkSpec: false });
    assert.deepEqual(await statuses(mediaId), [200, 200, 200, 200], 'refused calls changed nothing');

    const done = await adminCall('POST', path, admin);
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.deepEqual(done.body, {});
    await assertGone(mediaId);
    // The bytes are kept for review, the row says who quarantined it.
    const row = await server.app.db.selectFrom('media').selectAll().where('media_id', '=', mediaId).executeTakeFirstOrThrow();
    assert.equal(row.quarantined_by, admin.userId);

    const unPath = `/_synapse/admin/v1/media/unquarantine/localhost/${mediaId}`;
    await assertRefusal(await adminCall('POST', unPath, alice), { status: 403, errcode: 'M_FORBIDDEN', method: 'POST', path: unPath, checkSpec: false });
    await assertGone(mediaId);
    assert.equal((await adminCall('POST', unPath, admin)).status, 200);
    assert.deepEqual(await statuses(mediaId), [200, 200, 200, 200]);
  });

  test('quarantine covers the content: another ID with the same bytes is not served, and the bytes cannot be uploaded again', async () => {
    const bytes = await sharp({ create: { width: 50, height: 50, channels: 3, background: { r: 66, g: 6, b: 6 } } }).png().toBuffer();
    const bad = mediaIdOf((await uploadBytes(server, alice, bytes, { contentType: 'image/png' })).body.content_uri);
    const copy = mediaIdOf((await uploadBytes(server, alice, bytes, { contentType: 'image/png' })).body.content_uri);
    assert.equal((await adminCall('POST', `/_synapse/admin/v1/media/quarantine/localhost/${bad}`, admin)).status, 200);
    await assertGone(copy);
    const again = await uploadBytes(server, alice, bytes, { contentType: 'image/png' });
    await assertRefusal(again, { status: 403, errcode: 'M_FORBIDDEN', method: 'POST', path: '/_matrix/media/v3/upload' });
    assert.equal((await server.app.db.selectFrom('media').select('media_id').where('sha256', '=', await shaOf(server, bad)).execute()).length, 2);

    assert.equal((await adminCall('POST', `/_synapse/admin/v1/media/unquarantine/localhost/${bad}`, admin)).status, 200);
    assert.deepEqual(await statuses(copy), [200, 200, 200, 200]);
    assert.equal((await uploadBytes(server, alice, bytes, { contentType: 'image/png' })).status, 200);
  });

  test('quarantine and delete of unknown media, bad IDs and other servers are 404 M_NOT_FOUND', async () => {
    for (const [method, path] of [
      ['POST', '/_synapse/admin/v1/media/quarantine/localhost/unknownMedia'],
      ['POST', '/_synapse/admin/v1/media/quarantine/elsewhere.org/abc'],
      ['POST', '/_synapse/admin/v1/media/unquarantine/localhost/bad.id'],
      ['DELETE', '/_synapse/admin/v1/media/localhost/unknownMedia'],
      ['DELETE', '/_synapse/admin/v1/media/elsewhere.org/abc'],
    ] as const) {
      await assertRefusal(await adminCall(method, path, admin), { status: 404, errcode: 'M_NOT_FOUND', method, path, checkSpec: false });
    }
  });

  test('delete: refused to non-admins; by an admin the ID is gone everywhere, shared bytes stay for the other ID, the last one removes them and their thumbnails', async () => {
    const bytes = await sharp({ create: { width: 120, height: 90, channels: 3, background: { r: 1, g: 200, b: 3 } } }).png().toBuffer();
    const first = mediaIdOf((await uploadBytes(server, alice, bytes, { contentType: 'image/png' })).body.content_uri);
    const second = mediaIdOf((await uploadBytes(server, admin, bytes, { contentType: 'image/png' })).body.content_uri);
    const sha = await shaOf(server, first);
    assert.equal(await shaOf(server, second), sha, 'identical uploads share their content');
    assert.deepEqual(await statuses(first), [200, 200, 200, 200]);
    const contentFiles = () => storedFiles(server, 'content').filter((path) => path.endsWith(sha));
    const thumbnailFiles = () => storedFiles(server, 'thumbnails').filter((path) => path.includes(sha));
    assert.equal(contentFiles().length, 1);
    assert.ok(thumbnailFiles().length > 0);

    const path = `/_synapse/admin/v1/media/localhost/${first}`;
    await assertRefusal(await adminCall('DELETE', path, alice), { status: 403, errcode: 'M_FORBIDDEN', method: 'DELETE', path, checkSpec: false });
    assert.deepEqual(await statuses(first), [200, 200, 200, 200], 'a refused delete changed nothing');

    const deleted = await adminCall('DELETE', path, admin);
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    assert.deepEqual(deleted.body, { deleted_media: [first], total: 1 });
    await assertGone(first);
    await assertRefusal(await adminCall('DELETE', path, admin), { status: 404, errcode: 'M_NOT_FOUND', method: 'DELETE', path, checkSpec: false });

    // The other media ID with the same bytes is untouched.
    const other = await getMedia(server, authed(`download/localhost/${second}`), alice.accessToken);
    assert.equal(other.status, 200);
    assert.deepEqual(other.bytes, bytes);
    assert.equal(contentFiles().length, 1);
    const content = await server.app.db.selectFrom('media_content').selectAll().where('sha256', '=', sha).executeTakeFirstOrThrow();
    assert.equal(content.refcount, 1);

    assert.equal((await adminCall('DELETE', `/_synapse/admin/v1/media/localhost/${second}`, admin)).status, 200);
    await assertGone(second);
    assert.deepEqual(contentFiles(), []);
    assert.deepEqual(thumbnailFiles(), []);
    assert.equal(await server.app.db.selectFrom('media_content').selectAll().where('sha256', '=', sha).executeTakeFirst(), undefined);
    assert.deepEqual(await server.app.db.selectFrom('media_thumbnails').selectAll().where('sha256', '=', sha).execute(), []);
  });
});

describe('media of purged events (the call retention makes)', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  before(async () => {
    server = await startTestServer();
    alice = await registerUser(server.url, 'alice');
    bob = await registerUser(server.url, 'bob');
  });
  after(() => server.stop());

  const upload = async (user: TestUser, text: string) => (await uploadBytes(server, user, Buffer.from(text), { contentType: 'text/plain' })).body.content_uri as string;
  const served = async (mxc: string) => (await getMedia(server, authed(`download/localhost/${mediaIdOf(mxc)}`), alice.accessToken)).status;

  test('mxc URIs are found where the spec puts them, and nowhere else', () => {
    const content = {
      msgtype: 'm.image',
      body: 'mxc://localhost/inTheBodyText',
      url: 'mxc://localhost/main',
      info: { thumbnail_url: 'mxc://localhost/thumb', thumbnail_file: { url: 'mxc://localhost/thumbFile' } },
      file: { url: 'mxc://localhost/file' },
    };
    assert.deepEqual(mxcUrisOfContent(content).sort(), ['mxc://localhost/file', 'mxc://localhost/main', 'mxc://localhost/thumb', 'mxc://localhost/thumbFile']);
    assert.deepEqual(mxcUrisOfContent({ membership: 'join', avatar_url: 'mxc://localhost/avatar' }), ['mxc://localhost/avatar']);
    assert.deepEqual(mxcUrisOfContent({ url: 'https://example.org/x' }), []);
    assert.deepEqual(mxcUrisOfContent({ algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'AwgA...' }), []);
    assert.deepEqual(mxcUrisOfContent(null), []);
  });

  test("a purged event's media is deleted when its sender uploaded it; others' media, remote and malformed URIs are left alone", async () => {
    const own = await upload(alice, 'alice image');
    const ownThumb = await upload(alice, 'alice thumbnail');
    const bobs = await upload(bob, 'bob image');
    const kept = await upload(alice, 'not in any purged event');
    const deleted = await deleteMediaOfPurgedEvents(server.app, [
      { sender: alice.userId, content: { msgtype: 'm.image', url: own, info: { thumbnail_url: ownThumb } } },
      // Alice's event names Bob's media: purging it must not delete what Bob uploaded.
      { sender: alice.userId, content: { msgtype: 'm.image', url: bobs } },
      { sender: alice.userId, content: { msgtype: 'm.image', url: 'mxc://elsewhere.org/remote' } },
      { sender: alice.userId, content: { msgtype: 'm.image', url: 'mxc://localhost/no.such/id' } },
    ]);
    assert.deepEqual(deleted.sort(), [mediaIdOf(own), mediaIdOf(ownThumb)].sort());
    assert.equal(await served(own), 404);
    assert.equal(await served(ownThumb), 404);
    assert.equal(await served(bobs), 200);
    assert.equal(await served(kept), 200);
  });

  test('deleteMediaByMxcUris deletes any local media when not restricted to an uploader, and is idempotent', async () => {
    const a = await upload(alice, 'a');
    const b = await upload(bob, 'b');
    assert.deepEqual((await deleteMediaByMxcUris(server.app, [a, b, a], { by: 'test' })).sort(), [mediaIdOf(a), mediaIdOf(b)].sort());
    assert.equal(await served(a), 404);
    assert.equal(await served(b), 404);
    assert.deepEqual(await deleteMediaByMxcUris(server.app, [a, b], { by: 'test' }), []);
  });
});
