import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { createClient } from 'matrix-js-sdk';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, type TestUser } from '../support/http.ts';
import { quietMatrixSdk } from '../support/js-sdk.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

before(async () => {
  quietMatrixSdk();
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
});
after(() => server.stop());

test('matrix-js-sdk: one client uploads an image, another downloads it and its thumbnail on the authenticated endpoints', async () => {
  const uploader = createClient({ baseUrl: server.url, userId: alice.userId, accessToken: alice.accessToken, deviceId: alice.deviceId });
  const reader = createClient({ baseUrl: server.url, userId: bob.userId, accessToken: bob.accessToken, deviceId: bob.deviceId });
  const image = await sharp({ create: { width: 400, height: 300, channels: 3, background: { r: 10, g: 120, b: 200 } } }).jpeg().toBuffer();

  const { content_uri: mxc } = await uploader.uploadContent(new Blob([new Uint8Array(image)], { type: 'image/jpeg' }), { name: 'photo.jpg' });
  assert.match(mxc, /^mxc:\/\/localhost\//);

  const downloadUrl = reader.mxcUrlToHttp(mxc, undefined, undefined, undefined, false, false, true);
  assert.ok(downloadUrl?.includes('/_matrix/client/v1/media/download/'), downloadUrl ?? 'no URL');
  const download = await fetch(downloadUrl!, { headers: { authorization: `Bearer ${bob.accessToken}` } });
  assert.equal(download.status, 200);
  assert.equal(download.headers.get('content-disposition'), 'inline; filename="photo.jpg"');
  assert.deepEqual(Buffer.from(await download.arrayBuffer()), image);

  const thumbnailUrl = reader.mxcUrlToHttp(mxc, 96, 96, 'crop', false, false, true);
  const thumbnail = await fetch(thumbnailUrl!, { headers: { authorization: `Bearer ${bob.accessToken}` } });
  assert.equal(thumbnail.status, 200);
  const meta = await sharp(Buffer.from(await thumbnail.arrayBuffer())).metadata();
  assert.deepEqual([meta.width, meta.height], [96, 96]);

  const config = await reader.getMediaConfig(true);
  assert.equal(config['m.upload.size'], server.app.config.max_upload_size);
  uploader.stopClient();
  reader.stopClient();
});
