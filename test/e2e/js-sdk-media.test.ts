import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { createClient, Preset } from 'matrix-js-sdk';
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

test('matrix-js-sdk: a room avatar uploaded by one client is read and downloaded (full and as a 32x32 avatar thumbnail) by another member', async () => {
  const owner = createClient({ baseUrl: server.url, userId: alice.userId, accessToken: alice.accessToken, deviceId: alice.deviceId });
  const member = createClient({ baseUrl: server.url, userId: bob.userId, accessToken: bob.accessToken, deviceId: bob.deviceId });
  const avatar = await sharp({ create: { width: 256, height: 256, channels: 4, background: { r: 250, g: 200, b: 0, alpha: 1 } } }).png().toBuffer();
  const { content_uri: mxc } = await owner.uploadContent(new Blob([new Uint8Array(avatar)], { type: 'image/png' }), { name: 'avatar.png' });
  const { room_id: roomId } = await owner.createRoom({ preset: Preset.PublicChat, name: 'with an avatar' });
  await owner.sendStateEvent(roomId, 'm.room.avatar' as any, { url: mxc }, '');

  await member.joinRoom(roomId);
  const state = (await member.getStateEvent(roomId, 'm.room.avatar' as any, '')) as { url: string };
  assert.equal(state.url, mxc);
  const full = await fetch(member.mxcUrlToHttp(state.url, undefined, undefined, undefined, false, false, true)!, { headers: { authorization: `Bearer ${bob.accessToken}` } });
  assert.equal(full.status, 200);
  assert.deepEqual(Buffer.from(await full.arrayBuffer()), avatar);
  const small = await fetch(member.mxcUrlToHttp(state.url, 32, 32, 'crop', false, false, true)!, { headers: { authorization: `Bearer ${bob.accessToken}` } });
  assert.equal(small.status, 200);
  const meta = await sharp(Buffer.from(await small.arrayBuffer())).metadata();
  assert.deepEqual([meta.width, meta.height], [32, 32]);
  // Without a token the authenticated endpoints refuse.
  assert.equal((await fetch(member.mxcUrlToHttp(state.url, undefined, undefined, undefined, false, false, true)!)).status, 401);
  owner.stopClient();
  member.stopClient();
});

test('matrix-js-sdk: an encrypted attachment is an opaque blob, stored and served byte for byte, never inline', async () => {
  const sender = createClient({ baseUrl: server.url, userId: alice.userId, accessToken: alice.accessToken, deviceId: alice.deviceId });
  const receiver = createClient({ baseUrl: server.url, userId: bob.userId, accessToken: bob.accessToken, deviceId: bob.deviceId });
  // What a client does for an m.file in an encrypted room: AES-256-CTR, uploaded as application/octet-stream.
  const cipher = createCipheriv('aes-256-ctr', randomBytes(32), Buffer.concat([randomBytes(8), Buffer.alloc(8)]));
  const ciphertext = Buffer.concat([cipher.update('<html><script>alert(1)</script></html>'), cipher.final()]);
  const { content_uri: mxc } = await sender.uploadContent(new Blob([new Uint8Array(ciphertext)], { type: 'application/octet-stream' }), { includeFilename: false });
  const download = await fetch(receiver.mxcUrlToHttp(mxc, undefined, undefined, undefined, false, false, true)!, { headers: { authorization: `Bearer ${bob.accessToken}` } });
  assert.equal(download.status, 200);
  assert.equal(download.headers.get('content-type'), 'application/octet-stream');
  assert.equal(download.headers.get('content-disposition'), 'attachment');
  assert.deepEqual(Buffer.from(await download.arrayBuffer()), ciphertext);
  sender.stopClient();
  receiver.stopClient();
});
