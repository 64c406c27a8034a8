// Complement's media file-name scenarios (tests/media_filename_test.go,
// media_nofilename_test.go): the name given at upload, or another one asked
// for at download, comes back in Content-Disposition, ASCII or Unicode. The
// server runs with `enable_authenticated_media: false` so the legacy
// /_matrix/media/v3/download serves new media, as Complement expects of it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, type TestUser } from '../support/http.ts';
import { getMedia, uploadBytes } from '../support/media.ts';

let server: TestServer;
let alice: TestUser;
let png: Buffer;
before(async () => {
  server = await startTestServer({ enable_authenticated_media: false });
  alice = await registerUser(server.url, 'alice');
  png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 10, g: 200, b: 30 } } }).png().toBuffer();
});
after(() => server.stop());

async function upload(filename?: string): Promise<string> {
  const result = await uploadBytes(server, alice, png, { contentType: 'image/png', ...(filename !== undefined ? { filename } : {}) });
  assert.equal(result.status, 200, JSON.stringify(result.body));
  return result.body.content_uri;
}

/** The file name in Content-Disposition (`filename*=utf-8''…` preferred), and the disposition type. */
async function downloadName(mxc: string, altName: string, authenticated: boolean): Promise<{ name: string | undefined; type: string }> {
  const [serverName, mediaId] = mxc.slice('mxc://'.length).split('/');
  const base = authenticated ? '/_matrix/client/v1/media/download' : '/_matrix/media/v3/download';
  const path = `${base}/${serverName}/${mediaId}${altName ? `/${encodeURIComponent(altName)}` : ''}`;
  const result = await getMedia(server, path, authenticated ? alice.accessToken : undefined);
  assert.equal(result.status, 200, `${path}: ${result.bytes.toString('utf8').slice(0, 200)}`);
  assert.deepEqual(result.bytes, png);
  const disposition = result.headers.get('content-disposition') ?? '';
  const type = disposition.split(';')[0].trim();
  const extended = /filename\*=utf-8''([^;]+)/i.exec(disposition);
  if (extended) return { name: decodeURIComponent(extended[1]), type };
  const plain = /filename="((?:[^"\\]|\\.)*)"/.exec(disposition) ?? /filename=([^;]+)/.exec(disposition);
  return { name: plain ? plain[1].replace(/\\(.)/g, '$1') : undefined, type };
}

const UNICODE_NAME = '\u{1F414}';

test('TestMediaFilenames / ASCII', async (t) => {
  await t.test('Can upload with ASCII file name', async () => {
    await upload('ascii');
  });
  for (const authenticated of [false, true]) {
    const over = authenticated ? ' over /_matrix/client/v1/media/download' : '';
    await t.test(`Can download file${over}`, async () => {
      for (const filename of ['ascii', 'name with spaces', 'name;with;semicolons']) {
        assert.equal((await downloadName(await upload(filename), '', authenticated)).name, filename);
      }
    });
    await t.test(`Can download specifying a different ASCII file name${over}`, async () => {
      assert.equal((await downloadName(await upload('ascii'), 'file.png', authenticated)).name, 'file.png');
    });
  }
});

test('TestMediaFilenames / Unicode', async (t) => {
  await t.test('Can upload with Unicode file name', async () => {
    await upload(UNICODE_NAME);
  });
  for (const authenticated of [false, true]) {
    const over = authenticated ? ' over /_matrix/client/v1/media/download' : '';
    await t.test(`Can download specifying a different Unicode file name${over}`, async () => {
      assert.equal((await downloadName(await upload(UNICODE_NAME), '\u2615', authenticated)).name, '\u2615');
    });
    await t.test(`Can download with Unicode file name locally${over}`, async () => {
      assert.equal((await downloadName(await upload(UNICODE_NAME), '', authenticated)).name, UNICODE_NAME);
    });
  }
  await t.test('Will serve safe media types as inline', async () => {
    assert.equal((await downloadName(await upload(), '', true)).type, 'inline');
  });
});

test('TestMediaWithoutFileName', async (t) => {
  let mxc = '';
  await t.test('Can upload without a file name', async () => {
    mxc = await upload();
  });
  await t.test('Can download without a file name locally', async () => {
    assert.equal((await downloadName(mxc, '', false)).name, undefined);
    assert.equal((await downloadName(mxc, '', true)).name, undefined);
  });
});

test('TestMediaFilenames / Unicode / Will serve safe media types with parameters as inline', async (t) => {
  for (const authenticated of [false, true]) {
    await t.test(authenticated ? 'via /_matrix/client/v1/media/download' : 'legacy endpoint', async () => {
      const result = await uploadBytes(server, alice, png, { contentType: 'Text/Plain; charset=utf-8' });
      assert.equal(result.status, 200);
      assert.equal((await downloadName(result.body.content_uri, '', authenticated)).type, 'inline');
    });
  }
  await t.test('Will serve safe media types as inline (legacy endpoint)', async () => {
    assert.equal((await downloadName(await upload(), '', false)).type, 'inline');
  });
});
