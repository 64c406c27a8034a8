import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, MatrixError } from 'matrix-js-sdk';
import { startTestServer, type TestServer } from '../support/server.ts';
import { quietMatrixSdk } from '../support/js-sdk.ts';

quietMatrixSdk();

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.stop());

test('matrix-js-sdk registers, logs in, lists devices and logs out', async () => {
  const anonymous = createClient({ baseUrl: server.url });
  const username = 'sdkuser';
  const password = 'correct horse battery staple';

  // First call: the server answers 401 with the UIA flows and a session.
  const challenge = await anonymous.registerRequest({ username, password }).then(
    () => assert.fail('registration without auth should need UIA'),
    (error: unknown) => error as MatrixError,
  );
  assert.equal(challenge.httpStatus, 401);
  const session = challenge.data.session as string;
  assert.deepEqual(challenge.data.flows, [{ stages: ['m.login.dummy'] }]);

  const registered = await anonymous.registerRequest({ username, password, auth: { type: 'm.login.dummy', session } });
  assert.equal(registered.user_id, '@sdkuser:localhost');

  const login = await anonymous.loginRequest({
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user: username },
    password,
    initial_device_display_name: 'Palisade e2e',
  });
  const client = createClient({ baseUrl: server.url, accessToken: login.access_token, userId: login.user_id, deviceId: login.device_id });
  const whoami = await client.whoami();
  assert.equal(whoami.user_id, '@sdkuser:localhost');
  assert.equal(whoami.device_id, login.device_id);

  const { devices } = await client.getDevices();
  const names = devices.map((device) => device.display_name);
  assert.ok(names.includes('Palisade e2e'), `devices: ${JSON.stringify(devices)}`);
  assert.equal(devices.length, 2, 'the registration device and the login device');

  await client.logout();
  const afterLogout = await client.whoami().then(
    () => assert.fail('token should be dead after logout'),
    (error: unknown) => error as MatrixError,
  );
  assert.equal(afterLogout.errcode, 'M_UNKNOWN_TOKEN');
});
