import assert from 'node:assert/strict';
import { DeviceLists, OlmMachine, RequestType, UserId, DeviceId, initAsync } from '@matrix-org/matrix-sdk-crypto-wasm';
import { request, type TestUser } from './http.ts';
import type { TestServer } from './server.ts';
import { takeToDeviceMessages, deleteAcknowledgedToDeviceMessages } from '../../server/e2ee/to-device.ts';
import { oneTimeKeyCounts, unusedFallbackKeyTypes } from '../../server/e2ee/key-counts.ts';

/**
 * A real E2EE client for tests: the Rust crypto (matrix-sdk-crypto-wasm)
 * OlmMachine, its outgoing requests sent to our server over HTTP. Until /sync
 * delivers to-device messages, `receiveToDevice` reads the inbox through the
 * domain functions /sync will use, and acknowledges what it took.
 */
export interface OlmClient {
  user: TestUser;
  machine: OlmMachine;
  /** Sends every outgoing request the machine has and reports each response back. */
  flush(): Promise<void>;
  /** Sends one request of the machine's (from getMissingSessions, shareRoomKey, bootstrapCrossSigning …). */
  send(outgoing: unknown): Promise<unknown>;
  receiveToDevice(): Promise<number>;
  close(): void;
}

type Outgoing = { id?: string; type: RequestType; body: string; event_type?: string; txn_id?: string; version?: string };

const ENDPOINTS: Partial<Record<RequestType, (req: Outgoing) => [string, string]>> = {
  [RequestType.KeysUpload]: () => ['POST', '/_matrix/client/v3/keys/upload'],
  [RequestType.KeysQuery]: () => ['POST', '/_matrix/client/v3/keys/query'],
  [RequestType.KeysClaim]: () => ['POST', '/_matrix/client/v3/keys/claim'],
  [RequestType.SignatureUpload]: () => ['POST', '/_matrix/client/v3/keys/signatures/upload'],
  [RequestType.ToDevice]: (req) => ['PUT', `/_matrix/client/v3/sendToDevice/${encodeURIComponent(req.event_type!)}/${encodeURIComponent(req.txn_id!)}`],
  [RequestType.KeysBackup]: (req) => ['PUT', `/_matrix/client/v3/room_keys/keys?version=${encodeURIComponent(req.version!)}`],
};

export async function olmClient(server: TestServer, user: TestUser): Promise<OlmClient> {
  await initAsync();
  const machine = await OlmMachine.initialize(new UserId(user.userId), new DeviceId(user.deviceId));
  let toDevicePosition = 0;

  async function send(outgoing: unknown): Promise<unknown> {
    const req = outgoing as Outgoing;
    const endpoint = ENDPOINTS[req.type];
    assert.ok(endpoint, `no endpoint for request type ${req.type}`);
    const [method, path] = endpoint(req);
    const result = await request(server.url, method, path, { token: user.accessToken, body: JSON.parse(req.body) });
    assert.equal(result.status, 200, `${method} ${path}: ${JSON.stringify(result.body)}`);
    if (req.id) await machine.markRequestAsSent(req.id, req.type, JSON.stringify(result.body));
    return result.body;
  }

  return {
    user,
    machine,
    send,
    async flush() {
      for (const outgoing of await machine.outgoingRequests()) await send(outgoing);
    },
    async receiveToDevice() {
      const db = server.app.db;
      const messages = await takeToDeviceMessages(db, user.userId, user.deviceId, toDevicePosition);
      if (messages.length > 0) toDevicePosition = messages[messages.length - 1].position;
      const events = messages.map(({ sender, type, content }) => ({ sender, type, content }));
      const counts = new Map(Object.entries(await oneTimeKeyCounts(db, user.userId, user.deviceId)));
      const fallback = new Set(await unusedFallbackKeyTypes(db, user.userId, user.deviceId));
      await machine.receiveSyncChanges(JSON.stringify(events), new DeviceLists(), counts, fallback);
      await deleteAcknowledgedToDeviceMessages(db, user.userId, user.deviceId, toDevicePosition);
      return messages.length;
    },
    close: () => machine.close(),
  };
}
