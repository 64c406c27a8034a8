import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { authed, getMedia, legacy, mediaIdOf, uploadBytes } from '../support/media.ts';
import { quarantineMedia } from '../../server/media/quarantine.ts';

const SOURCE_WIDTH = 1000;
const SOURCE_HEIGHT = 500;

async function sourceImage(format: 'jpeg' | 'png' | 'gif' | 'webp'): Promise<Buffer> {
  const image = sharp({ create: { width: SOURCE_WIDTH, height: SOURCE_HEIGHT, channels: 3, background: { r: 200, g: 40, b: 90 } } });
  return image.toFormat(format).toBuffer();
}

/** A two-frame 200x100 animation: raw frames stacked vertically, split by `pageHeight`. */
async function animatedImage(format: 'gif' | 'webp'): Promise<Buffer> {
  const [width, height] = [200, 200];
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i += 3) raw[i] = i < raw.length / 2 ? 255 : 10;
  return sharp(raw, { raw: { width, height, channels: 3, pageHeight: 100 } }).toFormat(format, { loop: 0, delay: [100, 100] }).toBuffer();
}

describe('media thumbnails', () => {
  let server: TestServer;
  let alice: TestUser;
  before(async () => {
    server = await startTestServer();
    alice = await registerUser(server.url, 'alice');
  });
  after(() => server.stop());

  const thumbnail = (mediaId: string, query: string) => getMedia(server, authed(`thumbnail/localhost/${mediaId}?${query}`), alice.accessToken);

  for (const format of ['jpeg', 'png', 'gif', 'webp'] as const) {
    test(`${format}: crop and scale at the spec's sizes, never smaller than asked, cached`, async () => {
      const upload = await uploadBytes(server, alice, await sourceImage(format), { contentType: `image/${format}` });
      assert.equal(upload.status, 200);
      const mediaId = mediaIdOf(upload.body.content_uri);

      const crop = await thumbnail(mediaId, 'width=64&height=64&method=crop');
      assert.equal(crop.status, 200, crop.bytes.toString());
      assert.equal(crop.headers.get('content-type'), format === 'jpeg' ? 'image/jpeg' : 'image/png');
      assert.match(crop.headers.get('content-disposition') ?? '', /^inline; filename="thumbnail\.(jpeg|png)"$/);
      assert.equal(crop.headers.get('x-content-type-options'), 'nosniff');
      const cropped = await sharp(crop.bytes).metadata();
      assert.deepEqual([cropped.width, cropped.height], [96, 96]);

      const scale = await thumbnail(mediaId, 'width=300&height=200&method=scale');
      const scaled = await sharp(scale.bytes).metadata();
      // The 320x240 box, aspect kept: 1000x500 fits as 320x160.
      assert.deepEqual([scaled.width, scaled.height], [320, 160]);

      const again = await thumbnail(mediaId, 'width=300&height=200&method=scale');
      assert.deepEqual(again.bytes, scale.bytes);
      const rows = await server.app.db.selectFrom('media_thumbnails').selectAll().where('sha256', '=', (await server.app.db.selectFrom('media').select('sha256').where('media_id', '=', mediaId).executeTakeFirstOrThrow()).sha256!).execute();
      assert.equal(rows.length, 2);

      // Larger than every common size: the request rounded up, never enlarged past the original.
      const big = await sharp((await thumbnail(mediaId, 'width=1200&height=1200&method=scale')).bytes).metadata();
      assert.deepEqual([big.width, big.height], [SOURCE_WIDTH, SOURCE_HEIGHT]);
    });
  }

  test('animated=true keeps GIF and WebP animation (as WebP); without it the thumbnail is still', async () => {
    for (const format of ['gif', 'webp'] as const) {
      const upload = await uploadBytes(server, alice, await animatedImage(format), { contentType: `image/${format}` });
      const mediaId = mediaIdOf(upload.body.content_uri);
      const animated = await thumbnail(mediaId, 'width=96&height=96&method=crop&animated=true');
      assert.equal(animated.status, 200, animated.bytes.toString());
      assert.equal(animated.headers.get('content-type'), 'image/webp');
      const meta = await sharp(animated.bytes, { animated: true }).metadata();
      assert.equal(meta.pages, 2, format);
      const still = await thumbnail(mediaId, 'width=96&height=96&method=crop');
      assert.equal(still.headers.get('content-type'), 'image/png');
      assert.equal((await sharp(still.bytes).metadata()).pages ?? 1, 1);
    }
  });

  test('content that cannot be thumbnailed is 400 M_UNKNOWN, as the spec says', async () => {
    for (const [bytes, type] of [
      [Buffer.from('just text'), 'text/plain'],
      [Buffer.from('not really a png'), 'image/png'],
    ] as const) {
      const upload = await uploadBytes(server, alice, bytes, { contentType: type });
      const mediaId = mediaIdOf(upload.body.content_uri);
      const path = authed(`thumbnail/localhost/${mediaId}?width=32&height=32&method=crop`);
      const result = await getMedia(server, path, alice.accessToken);
      assert.equal(result.status, 400, type);
      assert.equal(result.json.errcode, 'M_UNKNOWN');
      await assertMatchesSpec({ method: 'GET', path, status: 400, body: result.json });
    }
  });

  test('the legacy unauthenticated thumbnail endpoint does not serve media uploaded under enable_authenticated_media', async () => {
    const upload = await uploadBytes(server, alice, await sourceImage('png'), { contentType: 'image/png' });
    const result = await getMedia(server, legacy(`thumbnail/localhost/${mediaIdOf(upload.body.content_uri)}?width=32&height=32&method=crop`));
    assert.equal(result.status, 404);
    assert.equal(result.json.errcode, 'M_NOT_FOUND');
    assert.equal((await thumbnail(mediaIdOf(upload.body.content_uri), 'width=32&height=32&method=crop')).status, 200);
  });

  test('metrics count uploaded bytes and thumbnails generated and served from the cache', async () => {
    const metric = async (name: string, labels = '') => {
      const text = await server.app.metrics.registry.metrics();
      const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}${labels} `));
      return line ? Number(line.split(' ')[1]) : 0;
    };
    const [bytesBefore, generatedBefore, cachedBefore] = [
      await metric('palisade_media_uploaded_bytes_total'),
      await metric('palisade_media_thumbnails_total', '{result="generated"}'),
      await metric('palisade_media_thumbnails_total', '{result="cached"}'),
    ];
    const image = await sourceImage('png');
    const mediaId = mediaIdOf((await uploadBytes(server, alice, image, { contentType: 'image/png' })).body.content_uri);
    assert.equal(await metric('palisade_media_uploaded_bytes_total'), bytesBefore + image.length);
    await thumbnail(mediaId, 'width=640&height=480&method=scale');
    await thumbnail(mediaId, 'width=640&height=480&method=scale');
    assert.equal(await metric('palisade_media_thumbnails_total', '{result="generated"}'), generatedBefore + 1);
    assert.equal(await metric('palisade_media_thumbnails_total', '{result="cached"}'), cachedBefore + 1);
  });

  test('a quarantined image has no thumbnail either', async () => {
    const upload = await uploadBytes(server, alice, await sourceImage('png'), { contentType: 'image/png' });
    const mediaId = mediaIdOf(upload.body.content_uri);
    assert.equal((await thumbnail(mediaId, 'width=32&height=32&method=crop')).status, 200);
    await quarantineMedia(server.app, mediaId, alice.userId);
    const result = await thumbnail(mediaId, 'width=32&height=32&method=crop');
    assert.equal(result.status, 404);
    assert.equal(result.json.errcode, 'M_NOT_FOUND');
  });
});
