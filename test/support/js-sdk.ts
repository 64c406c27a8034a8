import { LoggerLevel, Tracing } from '@matrix-org/matrix-sdk-crypto-wasm';
import { ClientEvent, createClient, RoomEvent, SyncState, type MatrixClient, type MatrixEvent, type Room } from 'matrix-js-sdk';
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

/**
 * A matrix-js-sdk client for `user` on `baseUrl`, started and past its first
 * sync (rejects if that sync fails). `crypto` initialises the Rust crypto first.
 * Callers stop it (`stopClient`) when done.
 */
export async function startSyncedClient(
  baseUrl: string,
  user: { userId: string; accessToken: string; deviceId: string },
  options: { threadSupport?: boolean; crypto?: boolean } = {},
): Promise<MatrixClient> {
  const client = createClient({ baseUrl, userId: user.userId, accessToken: user.accessToken, deviceId: user.deviceId });
  if (options.crypto) await initRustCryptoInMemory(client);
  const prepared = new Promise<void>((resolve, reject) => {
    const onSync = (state: SyncState, _previous: SyncState | null, data?: { error?: Error }) => {
      if (state === SyncState.Prepared) {
        client.off(ClientEvent.Sync, onSync);
        resolve();
      } else if (state === SyncState.Error) {
        reject(data?.error ?? new Error('sync failed'));
      }
    };
    client.on(ClientEvent.Sync, onSync);
  });
  await client.startClient({ initialSyncLimit: 10, threadSupport: options.threadSupport ?? false });
  await prepared;
  return client;
}

/** Resolves with the first timeline event in `roomId` that `match` accepts, as the client sees it through sync. */
export function nextTimelineEvent(client: MatrixClient, roomId: string, match: (event: MatrixEvent) => boolean): Promise<MatrixEvent> {
  return new Promise((resolve) => {
    const onTimeline = (event: MatrixEvent, room: Room | undefined) => {
      if (room?.roomId !== roomId || !match(event) || event.status !== null) return;
      client.off(RoomEvent.Timeline, onTimeline);
      resolve(event);
    };
    client.on(RoomEvent.Timeline, onTimeline);
  });
}
