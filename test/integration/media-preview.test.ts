import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import sharp from 'sharp';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';
import { authed, getMedia, mediaIdOf } from '../support/media.ts';
import { guardedGet } from '../../server/media/previews/safe-fetch.ts';
import { createAddressPolicy } from '../../server/media/previews/ip-ranges.ts';
import { createUrlBlacklist } from '../../server/media/previews/url-blacklist.ts';

const MAX_SPIDER = 64 * 1024;
const FETCH_TIMEOUT_MS = 1000;

/** The linked site: a small HTTP server on 127.0.0.1 with one route per case. */
async function startSite(image: Buffer) {
  const hits: string[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    switch (req.url) {
      case '/article':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(`<!doctype html><html><head><title>Fallback title</title>
          <meta property="og:title" content="Palisade &amp; friends">
          <meta property="og:description" content="A page about media">
          <meta property="og:image" content="/image.png"><meta property="og:image:width" content="64">
          <meta property="og:type" content="article"></head><body><p>text</p></body></html>`);
        return;
      case '/plain-title':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><head><title> Just   a title </title><meta name="description" content="desc"></head></html>');
        return;
      case '/image.png':
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(image.length) });
        res.end(image);
        return;
      case '/huge': {
        res.writeHead(200, { 'content-type': 'text/html' });
        const chunk = Buffer.alloc(16 * 1024, 'a');
        let sent = 0;
        const pump = () => {
          while (sent < MAX_SPIDER * 8 && !res.destroyed) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
        return;
      }
      case '/silent':
        return; // never answers
      case '/loop':
        res.writeHead(302, { location: '/loop' }).end();
        return;
      case '/to-other-loopback':
        res.writeHead(302, { location: `http://127.0.0.2:${(server.address() as AddressInfo).port}/article` }).end();
        return;
      case '/to-private':
        res.writeHead(301, { location: 'http://10.0.0.1/admin' }).end();
        return;
      case '/to-ipv6-loopback':
        res.writeHead(307, { location: `http://[::1]:${(server.address() as AddressInfo).port}/article` }).end();
        return;
      case '/redirect-ok':
        res.writeHead(302, { location: `${base}/article` }).end();
        return;
      case '/text':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('plain text');
        return;
      default:
        res.writeHead(404).end();
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    port,
    hits,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('URL previews', () => {
  let server: TestServer;
  let strict: TestServer;
  let alice: TestUser;
  let site: Awaited<ReturnType<typeof startSite>>;
  const preview = (url: string, on = server, user = alice) =>
    request(on.url, 'GET', `/_matrix/client/v1/media/preview_url?url=${encodeURIComponent(url)}`, { token: user.accessToken });

  before(async () => {
    const image = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toBuffer();
    site = await startSite(image);
    const previews = { url_preview_enabled: true, max_spider_size: MAX_SPIDER, url_preview_fetch_timeout: FETCH_TIMEOUT_MS };
    server = await startTestServer({ ...previews, url_preview_ip_range_whitelist: ['127.0.0.1/32'] });
    // No whitelist: the built-in refusals alone.
    strict = await startTestServer(previews);
    alice = await registerUser(server.url, 'alice');
  });
  after(async () => {
    await server.stop();
    await strict.stop();
    await site.stop();
  });

  test('OpenGraph fields of a page, its image stored as media; cached per URL', async () => {
    const result = await preview(site.url('/article'));
    assert.equal(result.status, 200, JSON.stringify(result.body));
    await assertMatchesSpec({ method: 'GET', path: '/_matrix/client/v1/media/preview_url', status: 200, body: result.body });
    assert.equal(result.body['og:title'], 'Palisade & friends');
    assert.equal(result.body['og:description'], 'A page about media');
    assert.equal(result.body['og:type'], 'article');
    assert.equal(result.body['og:image:type'], 'image/png');
    assert.equal(result.body['og:image:width'], 64);
    assert.match(result.body['og:image'], /^mxc:\/\/localhost\//);
    const image = await getMedia(server, authed(`download/localhost/${mediaIdOf(result.body['og:image'])}`), alice.accessToken);
    assert.equal(image.status, 200);
    assert.equal(image.bytes.length, result.body['matrix:image:size']);
    assert.equal((await sharp(image.bytes).metadata()).width, 64);

    const hitsBefore = site.hits.length;
    const again = await preview(site.url('/article'));
    assert.deepEqual(again.body, result.body);
    assert.equal(site.hits.length, hitsBefore, 'served from the cache');
    const legacyPath = `/_matrix/media/v3/preview_url?url=${encodeURIComponent(site.url('/article'))}`;
    assert.deepEqual((await request(server.url, 'GET', legacyPath, { token: alice.accessToken })).body, result.body);
  });

  test('a page without og tags falls back to its title and description; redirects within policy are followed', async () => {
    const result = await preview(site.url('/plain-title'));
    assert.deepEqual(result.body, { 'og:title': 'Just a title', 'og:description': 'desc' });
    const redirected = await preview(site.url('/redirect-ok'));
    assert.equal(redirected.body['og:title'], 'Palisade & friends');
  });

  test('non-HTML content: text gives an empty preview, an image is itself the preview image', async () => {
    assert.deepEqual((await preview(site.url('/text'))).body, {});
    const image = await preview(site.url('/image.png'));
    assert.equal(image.status, 200);
    assert.match(image.body['og:image'], /^mxc:\/\//);
    assert.equal(image.body['og:image:type'], 'image/png');
  });

  const refusals: Array<[string, string, number, string]> = [
    ['a page larger than max_spider_size', '/huge', 502, 'M_TOO_LARGE'],
    ['a redirect loop', '/loop', 502, 'M_UNKNOWN'],
    ['a redirect to another loopback address (127.0.0.2)', '/to-other-loopback', 403, 'M_FORBIDDEN'],
    ['a redirect to a private address (10.0.0.1)', '/to-private', 403, 'M_FORBIDDEN'],
    ['a redirect to IPv6 loopback', '/to-ipv6-loopback', 403, 'M_FORBIDDEN'],
    ['a non-2xx answer', '/missing', 502, 'M_UNKNOWN'],
  ];
  for (const [what, path, status, errcode] of refusals) {
    test(`refused: ${what}`, async () => {
      const result = await preview(site.url(path));
      assert.equal(result.status, status, JSON.stringify(result.body));
      assert.equal(result.body.errcode, errcode);
      assert.equal(typeof result.body.error, 'string');
    });
  }

  test('a site that never answers times out with a clear error, not a hang', async () => {
    const result = await preview(site.url('/silent'));
    assert.equal(result.status, 504);
    assert.equal(result.body.errcode, 'M_UNKNOWN');
    assert.match(result.body.error, /Timed out/);
    assert.ok(site.hits.includes('/silent'), 'the request reached the site, which never answered');
  });

  test('loopback forms are refused without a whitelist: 127.0.0.1, localhost, [::1], [::ffff:127.0.0.1]', async () => {
    const bob = await registerUser(strict.url, 'bob');
    const hitsBefore = site.hits.length;
    // Also the shorthand forms URL parsing turns into 127.0.0.1 (decimal, hex, dropped zero octets).
    for (const host of ['127.0.0.1', 'localhost', '[::1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '0.0.0.0', '[::]', '2130706433', '0x7f000001', '127.1', '[0:0:0:0:0:0:0:1]']) {
      const result = await preview(`http://${host}:${site.port}/article`, strict, bob);
      assert.equal(result.status, 403, `${host}: ${JSON.stringify(result.body)}`);
      assert.equal(result.body.errcode, 'M_FORBIDDEN');
    }
    assert.equal(site.hits.length, hitsBefore, 'nothing reached the site');
  });

  test('only http(s) URLs; previews off means the endpoint is unrecognised', async () => {
    for (const url of ['file:///etc/passwd', 'gopher://127.0.0.1/', 'not a url']) {
      const result = await preview(url);
      assert.equal(result.status, 400, url);
      assert.equal(result.body.errcode, 'M_INVALID_PARAM');
    }
    const off = await startTestServer();
    try {
      const carol = await registerUser(off.url, 'carol');
      const result = await preview(site.url('/article'), off, carol);
      assert.equal(result.status, 404);
      assert.equal(result.body.errcode, 'M_UNRECOGNIZED');
    } finally {
      await off.stop();
    }
  });

  test('the socket connects to the address that was checked, whatever the name resolves to later', async () => {
    let calls = 0;
    // First answer is checked and pinned; a rebinding resolver would answer 10.0.0.1 next time, and is never asked again.
    const resolver = async () => (calls++ === 0 ? [{ address: '127.0.0.1', family: 4 as const }] : [{ address: '10.0.0.1', family: 4 as const }]);
    const guards = { addresses: createAddressPolicy({ blacklist: [], whitelist: ['127.0.0.1/32'] }), urls: createUrlBlacklist([]), resolver };
    const response = await guardedGet(`http://rebind.invalid:${site.port}/text`, guards, { maxBytes: MAX_SPIDER, timeoutMs: FETCH_TIMEOUT_MS });
    let text = '';
    for await (const chunk of response.body) text += chunk;
    response.close();
    assert.equal(text, 'plain text');
    assert.equal(calls, 1);
  });
});
