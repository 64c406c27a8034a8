import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { makeRegistration, startFakeAppservice, writeRegistrationFiles, type FakeAppservice } from '../support/appservice.ts';
import { assertMatchesSpec } from '../support/spec-schema.ts';

let server: TestServer;
let ircA: FakeAppservice;
let ircB: FakeAppservice;
let alice: TestUser;
const first = makeRegistration('irca', { protocols: ['irc'] });
const second = makeRegistration('ircb', { protocols: ['irc'] });
const broken = makeRegistration('slack', { protocols: ['slack'], url: 'http://127.0.0.1:1' });
const silent = makeRegistration('silent');

const protocol = (network: string) => ({
  user_fields: ['network', 'nickname'],
  location_fields: ['network', 'channel'],
  icon: 'mxc://example.org/aBcDeFgH',
  field_types: { network: { regexp: '([a-z0-9]+\\.)*[a-z0-9]+', placeholder: 'irc.example.org' }, nickname: { regexp: '[^\\s#]+', placeholder: 'username' }, channel: { regexp: '#[^\\s]+', placeholder: '#foobar' } },
  instances: [{ network_id: network, desc: network, icon: 'mxc://example.org/JkLmNoPq', fields: { network }, instance_id: network }],
});

before(async () => {
  ircA = await startFakeAppservice(first.hs_token);
  ircB = await startFakeAppservice(second.hs_token);
  first.url = ircA.url;
  second.url = ircB.url;
  silent.url = 'http://127.0.0.1:1';
  ircA.onOther = (_method, url) => {
    if (url === '/_matrix/app/v1/thirdparty/protocol/irc') return { status: 200, body: JSON.stringify(protocol('libera')) };
    if (url.startsWith('/_matrix/app/v1/thirdparty/location/irc?')) return { status: 200, body: JSON.stringify([{ alias: '#irc_libera_#matrix:localhost', protocol: 'irc', fields: { network: 'libera', channel: '#matrix' } }]) };
    if (url === '/_matrix/app/v1/thirdparty/user?userid=%40irc_bob%3Alocalhost') return { status: 200, body: JSON.stringify([{ userid: '@irc_bob:localhost', protocol: 'irc', fields: { network: 'libera', nickname: 'bob' } }]) };
    return undefined;
  };
  // The second answers garbage: it is left out, not passed on.
  ircB.onOther = (_method, url) => (url === '/_matrix/app/v1/thirdparty/protocol/irc' ? { status: 200, body: JSON.stringify(protocol('oftc')) } : { status: 200, body: 'not json' });
  server = await startTestServer({ app_service_config_files: writeRegistrationFiles([first, second, broken, silent]) });
  alice = await registerUser(server.url, 'alice');
});
after(async () => {
  await server?.stop();
  await ircA?.close();
  await ircB?.close();
});

const get = (path: string) => request(server.url, 'GET', path, { token: alice.accessToken });

test('protocols merge the instances of every appservice declaring them; unreachable ones are left out', async () => {
  const result = await get('/_matrix/client/v3/thirdparty/protocols');
  assert.equal(result.status, 200);
  await assertMatchesSpec({ method: 'GET', path: '/_matrix/client/v3/thirdparty/protocols', status: 200, body: result.body });
  assert.deepEqual(Object.keys(result.body), ['irc']);
  assert.deepEqual(result.body.irc.instances.map((instance: { network_id: string }) => instance.network_id).sort(), ['libera', 'oftc']);
  const one = await get('/_matrix/client/v3/thirdparty/protocol/irc');
  assert.equal(one.status, 200);
  await assertRefusal(await get('/_matrix/client/v3/thirdparty/protocol/slack'), { status: 404, errcode: 'M_NOT_FOUND', method: 'GET', path: '/_matrix/client/v3/thirdparty/protocol/{protocol}' });
});

test('location and user lookups pass the fields through and drop bad answers', async () => {
  const locations = await get('/_matrix/client/v3/thirdparty/location/irc?network=libera&channel=%23matrix');
  assert.equal(locations.status, 200);
  assert.deepEqual(locations.body, [{ alias: '#irc_libera_#matrix:localhost', protocol: 'irc', fields: { network: 'libera', channel: '#matrix' } }]);
  assert.ok(ircA.others.includes('GET /_matrix/app/v1/thirdparty/location/irc?network=libera&channel=%23matrix'));
  const users = await get(`/_matrix/client/v3/thirdparty/user?userid=${encodeURIComponent('@irc_bob:localhost')}`);
  assert.deepEqual(users.body, [{ userid: '@irc_bob:localhost', protocol: 'irc', fields: { network: 'libera', nickname: 'bob' } }]);
  assert.deepEqual((await get('/_matrix/client/v3/thirdparty/user/slack?nickname=x')).body, []);
  assert.equal((await request(server.url, 'GET', '/_matrix/client/v3/thirdparty/protocols')).status, 401, 'lookups need an access token');
});
