import { logger } from 'matrix-js-sdk/lib/logger.js';

/** matrix-js-sdk logs every HTTP call at debug; tests only want its warnings. Its logger is a loglevel instance. */
export function quietMatrixSdk(): void {
  (logger as unknown as { setLevel(level: string): void }).setLevel('warn');
}
