import { LoggerLevel, Tracing } from '@matrix-org/matrix-sdk-crypto-wasm';
import type { MatrixClient } from 'matrix-js-sdk';
import { logger } from 'matrix-js-sdk/lib/logger.js';

/** matrix-js-sdk logs every HTTP call at debug; tests only want its warnings. Its logger is a loglevel instance. */
export function quietMatrixSdk(): void {
  (logger as unknown as { setLevel(level: string): void }).setLevel('warn');
}

/**
 * `initRustCrypto` with an in-memory crypto store (Node has no IndexedDB).
 * js-sdk turns the Rust crypto's tracing on at debug on every init, which
 * floods test output; set it back to warnings after.
 */
export async function initRustCryptoInMemory(client: MatrixClient): Promise<void> {
  await client.initRustCrypto({ useIndexedDB: false });
  new Tracing(LoggerLevel.Warn).turnOn();
}
