import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, putState } from '../support/rooms.ts';

/** A linked site on 127.0.0.1 that counts its hits per path. */
async function startSite() {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/latin1') {
      // No charset in the header: the page's <meta charset> says ISO-8859-1.
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(Buffer.from('<html><head><meta charset="iso-8859-1"><meta property="og:title" content="Caf\u00e9 cr\u00e8me"></head></html>', 'latin1'));
      return;
    }
    if (req.url?.startsWith('/page')) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<html><head><meta property="og:title" content="Page ${req.url}"><meta property="og:image" content="http://10.0.0.1/secret.png"></head></html>`);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    hits,
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('URL previews: room policy, cache, and names that resolve to private addresses', () => {
  let server: TestServer;
  let strict: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let site: Awaited<ReturnType<typeof startSite>>;
  const previewPath = (url: string, roomId?: string) =>
    `/_matrix/client/v1/media/preview_url?url=${encodeURIComponent(url)}${roomId ? `&room_id=${encodeURIComponent(roomId)}` : ''}`;
  const preview = (user: TestUser, url: string, roomId?: string, on = server) => request(on.url, 'GET', previewPath(url, roomId), { token: user.accessToken });

  before(async () => {
    site = await startSite();
    const previews = { url_preview_enabled: true, url_preview_fetch_timeout: 2000 };
    server = await startTestServer({ ...previews, url_preview_ip_range_whitelist: ['127.0.0.1/32'] });
    strict = await startTestServer(previews);
    alice = await registerUser(server.url, 'alice');
    bob = await registerUser(server.url, 'bob');
  });
  after(async () => {
    await server.stop();
    await strict.stop();
    await site.stop();
  });

  test('a named room decides: off unless its org.matrix.room.preview_urls says disable: false; only members may ask; the cache does not bypass it', async () => {
    const url = site.url('/page-room');
    // Cached first without a room, so a refusal below cannot be a fetch failure.
    assert.equal((await preview(alice, url)).status, 200);
    const roomId = await createRoom(server, alice, { preset: 'private_chat' });
    const path = previewPath(url, roomId);
    const hits = site.hits.length;

    await assertRefusal(await preview(alice, url, roomId), { status: 403, errcode: 'ORG.PALISADE.PREVIEWS_DISABLED', method: 'GET', path, checkSpec: false, messageIncludes: 'org.matrix.room.preview_urls' });
    assert.equal((await putState(server, alice, roomId, 'org.matrix.room.preview_urls', '', { disable: true })).status, 200);
    await assertRefusal(await preview(alice, url, roomId), { status: 403, errcode: 'ORG.PALISADE.PREVIEWS_DISABLED', method: 'GET', path, checkSpec: false });

    assert.equal((await putState(server, alice, roomId, 'org.matrix.room.preview_urls', '', { disable: false })).status, 200);
    const allowed = await preview(alice, url, roomId);
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
    assert.equal(allowed.body['og:title'], 'Page /page-room');

    // Not a member, or no such room: the same refusal, so room state does not leak.
    await assertRefusal(await preview(bob, url, roomId), { status: 403, errcode: 'M_FORBIDDEN', method: 'GET', path, checkSpec: false });
    const unknown = '!nosuchroom:localhost';
    await assertRefusal(await preview(alice, url, unknown), { status: 403, errcode: 'M_FORBIDDEN', method: 'GET', path: previewPath(url, unknown), checkSpec: false });
    await assertRefusal(await preview(alice, url, 'not-a-room'), { status: 400, errcode: 'M_INVALID_PARAM', method: 'GET', path: previewPath(url, 'not-a-room'), checkSpec: false });
    assert.equal(site.hits.length, hits, 'nothing was fetched for the room checks');
  });

  test('cached per URL for a time: a repeat is not fetched, another URL is, and an expired entry is fetched again', async () => {
    const url = site.url('/page-cache');
    assert.equal((await preview(alice, url)).status, 200);
    assert.equal((await preview(alice, url)).status, 200);
    assert.equal(site.hits.filter((hit) => hit === '/page-cache').length, 1);
    assert.equal((await preview(alice, `${url}?v=2`)).body['og:title'], 'Page /page-cache?v=2');

    await server.app.db.updateTable('url_previews').set({ expires_ts: Date.now() - 1 }).where('url', '=', url).execute();
    assert.equal((await preview(alice, url)).status, 200);
    assert.equal(site.hits.filter((hit) => hit === '/page-cache').length, 2);
    const metrics = await server.app.metrics.registry.metrics();
    assert.match(metrics, /^palisade_url_previews_total\{result="cached"\} [1-9]/m);
    assert.match(metrics, /^palisade_url_previews_total\{result="fetched"\} [1-9]/m);
  });

  test("a page's og:image on a private address is not fetched; the text preview stays", async () => {
    const result = await preview(alice, site.url('/page-image'));
    assert.equal(result.status, 200);
    assert.equal(result.body['og:title'], 'Page /page-image');
    assert.equal(result.body['og:image'], undefined);
  });

  test("a page's <meta charset> decodes it when the Content-Type names none", async () => {
    const result = await preview(alice, site.url('/latin1'));
    assert.equal(result.status, 200);
    assert.equal(result.body['og:title'], 'Caf\u00e9 cr\u00e8me');
  });

  test('a hostname that resolves to a loopback address is refused after resolution, without connecting', async () => {
    const carol = await registerUser(strict.url, 'carol');
    const hits = site.hits.length;
    const url = `http://localhost:${site.port}/page-name`;
    const result = await preview(carol, url, undefined, strict);
    await assertRefusal(result, { status: 403, errcode: 'M_FORBIDDEN', method: 'GET', path: previewPath(url), checkSpec: false, messageIncludes: 'localhost' });
    assert.match(result.body.error, /refused range/);
    assert.equal(site.hits.length, hits);
  });
});
