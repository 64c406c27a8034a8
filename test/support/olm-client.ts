import assert from 'node:assert/strict';
import { DeviceLists, OlmMachine, RequestType, UserId, DeviceId, initAsync } from '@matrix-org/matrix-sdk-crypto-wasm';
import { request, type TestUser } from './http.ts';
import type { TestServer } from './server.ts';

/**
 * A real E2EE client for tests: the Rust crypto (matrix-sdk-crypto-wasm)
 * OlmMachine, its outgoing requests sent to our server over HTTP.
 * `receiveToDevice` runs one /sync (timeout 0) and feeds the machine its
 * to-device messages, device-list changes and key counts, as a client does;
 * the next call's token acknowledges what the previous one delivered.
 */
export interface OlmClient {
  user: TestUser;
  machine: OlmMachine;
  /** Sends every outgoing request the machine has and reports each response back. */
  flush(): Promise<void>;
  /** Sends one request of the machine's (from getMissingSessions, shareRoomKey, bootstrapCrossSigning …). */
  send(outgoing: unknown): Promise<unknown>;
  /** One /sync: hands its E2EE parts to the machine; returns how many to-device messages it carried. */
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
  let since: string | undefined;

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
      const query = new URLSearchParams({ timeout: '0', ...(since ? { since } : {}) });
      const result = await request(server.url, 'GET', `/_matrix/client/v3/sync?${query}`, { token: user.accessToken });
      assert.equal(result.status, 200, JSON.stringify(result.body));
      since = result.body.next_batch;
      const events = result.body.to_device?.events ?? [];
      const toUserIds = (ids: string[] | undefined) => (ids ?? []).map((id) => new UserId(id));
      const lists = new DeviceLists(toUserIds(result.body.device_lists?.changed), toUserIds(result.body.device_lists?.left));
      const counts = new Map(Object.entries(result.body.device_one_time_keys_count as Record<string, number>));
      await machine.receiveSyncChanges(JSON.stringify(events), lists, counts, new Set(result.body.device_unused_fallback_key_types));
      return events.length;
    },
    close: () => machine.close(),
  };
}
