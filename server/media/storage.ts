import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Where media bytes live. Keys are relative paths made only by this module's
 * callers (`content/ab/cd/<sha256>`, `thumbnails/...`), never from user input.
 * A store writes a key completely or not at all. An S3 store would implement
 * the same three calls (and may leave out `putFile`).
 */
export interface MediaStorage {
  /** Writes the stream under `key`, replacing what was there; visible only once complete. */
  put(key: string, body: Readable): Promise<void>;
  /** A stream of the bytes under `key` and their size, or undefined if there is none. */
  get(key: string): Promise<{ stream: Readable; size: number } | undefined>;
  delete(key: string): Promise<void>;
  /** Optional fast path: move a finished local file (from `spoolDir`) into the store. */
  putFile?(key: string, path: string): Promise<void>;
  /** Optional: the local file holding `key`, so an image library can read it without buffering it. */
  localPath?(key: string): string;
}

/** Bytes of a request or fetch land here first, so they can be hashed before they get a key. */
export function spoolPath(mediaStorePath: string): string {
  return join(mediaStorePath, 'tmp', `${Date.now()}-${randomBytes(8).toString('hex')}`);
}

export function contentKey(sha256: string): string {
  return `content/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
}

const SAFE_KEY = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_.-]+)*$/;

/** The local directory store: `<media_store_path>/<key>`, written to a temp file then renamed. */
export function createLocalMediaStorage(root: string): MediaStorage {
  const pathOf = (key: string) => {
    if (!SAFE_KEY.test(key) || key.split('/').some((part) => part === '..' || part === '.')) throw new Error(`bad media storage key: ${key}`);
    return join(root, key);
  };
  const placeFile = async (key: string, path: string) => {
    const target = pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    await rename(path, target);
  };
  return {
    async put(key, body) {
      const temp = spoolPath(root);
      await mkdir(dirname(temp), { recursive: true });
      try {
        await pipeline(body, createWriteStream(temp, { flags: 'wx' }));
        await placeFile(key, temp);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
    },
    async get(key) {
      const path = pathOf(key);
      try {
        const info = await stat(path);
        return { stream: createReadStream(path), size: info.size };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async delete(key) {
      await rm(pathOf(key), { force: true });
    },
    putFile: placeFile,
    localPath: pathOf,
  };
}
