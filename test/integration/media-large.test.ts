import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, type TestUser } from '../support/http.ts';
import { authed, mediaIdOf, patternStream } from '../support/media.ts';

const TOTAL_BYTES = 200 * 1024 * 1024;
/** The whole process (server and this test's client) may grow by less than this while 200 MB pass through. */
const MAX_RSS_GROWTH_BYTES = 100 * 1024 * 1024;
const SAMPLE_MS = 20;

function hashing(hash: ReturnType<typeof createHash>): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
}

/** Samples RSS while `work` runs; returns the peak growth over the starting value. */
async function peakRssGrowth(work: () => Promise<void>): Promise<number> {
  global.gc?.();
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), SAMPLE_MS);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().rss) - start;
}

describe('a 200 MB upload and download stream through bounded memory', () => {
  let server: TestServer;
  let alice: TestUser;
  let dir: string;
  before(async () => {
    server = await startTestServer({ max_upload_size: '300M' });
    alice = await registerUser(server.url, 'alice');
    dir = mkdtempSync(join(tmpdir(), 'palisade-media-large-'));
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('upload from a temp file, download to another; bytes identical; RSS growth bounded', async () => {
    const source = join(dir, 'source.bin');
    const sourceHash = createHash('sha256');
    await pipeline(patternStream(TOTAL_BYTES), hashing(sourceHash), createWriteStream(source));
    const expected = sourceHash.digest('hex');

    let contentUri = '';
    const uploadGrowth = await peakRssGrowth(async () => {
      contentUri = await new Promise<string>((resolve, reject) => {
        const req = http.request(new URL('/_matrix/media/v3/upload?filename=big.bin', server.url), {
          method: 'POST',
          headers: { authorization: `Bearer ${alice.accessToken}`, 'content-type': 'application/octet-stream', 'content-length': String(TOTAL_BYTES) },
        });
        req.once('response', (response) => {
          let text = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          response.once('end', () => (response.statusCode === 200 ? resolve(JSON.parse(text).content_uri) : reject(new Error(`${response.statusCode} ${text}`))));
        });
        req.once('error', reject);
        pipeline(createReadStream(source), req as unknown as Writable).catch(reject);
      });
    });

    const target = join(dir, 'target.bin');
    const downloadHash = createHash('sha256');
    const downloadGrowth = await peakRssGrowth(async () => {
      await new Promise<void>((resolve, reject) => {
        http
          .get(new URL(authed(`download/localhost/${mediaIdOf(contentUri)}`), server.url), { headers: { authorization: `Bearer ${alice.accessToken}` } }, (response) => {
            assert.equal(response.statusCode, 200);
            assert.equal(response.headers['content-length'], String(TOTAL_BYTES));
            pipeline(response, hashing(downloadHash), createWriteStream(target)).then(resolve, reject);
          })
          .once('error', reject);
      });
    });

    assert.equal(statSync(target).size, TOTAL_BYTES);
    assert.equal(downloadHash.digest('hex'), expected);
    process.stdout.write(`# 200 MB media: peak RSS growth upload ${(uploadGrowth / 2 ** 20).toFixed(1)} MiB, download ${(downloadGrowth / 2 ** 20).toFixed(1)} MiB\n`);
    assert.ok(uploadGrowth < MAX_RSS_GROWTH_BYTES, `upload grew RSS by ${uploadGrowth} bytes`);
    assert.ok(downloadGrowth < MAX_RSS_GROWTH_BYTES, `download grew RSS by ${downloadGrowth} bytes`);
  });
});
