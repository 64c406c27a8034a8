import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';

let server: TestServer;
let site: http.Server;
let siteUrl: string;
let root: TestUser;
let hits = 0;

before(async () => {
  site = http.createServer((_request, response) => {
    hits++;
    response.writeHead(200, { 'content-type': 'text/html' }).end('<html><head><meta property="og:title" content="Quarterly plan"></head></html>');
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/plan`;
  server = await startTestServer({ url_preview_enabled: true, url_preview_ip_range_whitelist: ['127.0.0.1/32'] });
  root = await registerUser(server.url, 'root', { admin: true });
});
after(async () => {
  await server.stop();
  await new Promise((resolve) => site.close(resolve));
});

const preview = (roomId: string) =>
  request(server.url, 'GET', `/_matrix/client/v1/media/preview_url?url=${encodeURIComponent(siteUrl)}&room_id=${encodeURIComponent(roomId)}`, { token: root.accessToken });
const setPreviews = (roomId: string, on: boolean) => request(server.url, 'PUT', `/_palisade/admin/v1/channels/${encodeURIComponent(roomId)}/policy`, { token: root.accessToken, body: { link_previews: on } });

test("link previews follow the channel policy: off by default, on when the policy says so, off again at once", async () => {
  const created = await request(server.url, 'POST', '/_palisade/admin/v1/channels', { token: root.accessToken, body: { name: 'Plans' } });
  const roomId = created.body.room_id;
  const off = await preview(roomId);
  assert.deepEqual([off.status, off.body.errcode], [403, 'ORG.PALISADE.PREVIEWS_DISABLED']);
  assert.equal(hits, 0, 'the linked site never heard of it');

  assert.equal((await setPreviews(roomId, true)).status, 200);
  const on = await preview(roomId);
  assert.equal(on.status, 200, JSON.stringify(on.body));
  assert.equal(on.body['og:title'], 'Quarterly plan');

  assert.equal((await setPreviews(roomId, false)).status, 200);
  const offAgain = await preview(roomId);
  assert.deepEqual([offAgain.status, offAgain.body.errcode], [403, 'ORG.PALISADE.PREVIEWS_DISABLED'], 'the cached preview does not get around the policy');
});
