import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { spoolPath } from './storage.ts';

export interface SpooledFile {
  path: string;
  sha256: string;
  size: number;
  discard(): Promise<void>;
}

/**
 * Streams `body` into a spool file under the media store, hashing as it goes
 * and failing with `onTooLarge()` as soon as more than `limitBytes` arrive —
 * nothing is ever held whole in memory, and on any failure the file is gone.
 */
export async function spoolToFile(mediaStorePath: string, body: Readable, limitBytes: number, onTooLarge: () => Error): Promise<SpooledFile> {
  const path = spoolPath(mediaStorePath);
  await mkdir(dirname(path), { recursive: true });
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > limitBytes) return callback(onTooLarge());
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  try {
    await pipeline(body, meter, createWriteStream(path, { flags: 'wx' }));
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
  return { path, sha256: hash.digest('hex'), size, discard: () => rm(path, { force: true }) };
}
