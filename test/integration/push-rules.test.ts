import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, syncOnce } from '../support/rooms.ts';
import { assertEventMatchesSpec } from '../support/spec-schema.ts';
import { userDataSnapshot, userRequest } from '../support/user-data.ts';

let server: TestServer;
let alice: TestUser;

before(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url, 'alice');
});
after(() => server.stop());

const rulePath = (kind: string, ruleId: string, rest = '') => `/_matrix/client/v3/pushrules/global/${kind}/${encodeURIComponent(ruleId)}${rest}`;
const ids = (rules: any[]) => rules.map((rule) => rule.rule_id);

async function ok(user: TestUser, method: string, path: string, body?: unknown) {
  const result = await userRequest(server, user, method, path, body);
  assert.equal(result.status, 200, `${method} ${path}: ${JSON.stringify(result.body)}`);
  return result.body;
}

test('a new user gets the spec’s default rules, filled in for them', async () => {
  const { global } = await ok(alice, 'GET', '/_matrix/client/v3/pushrules/');
  assert.equal(global.override[0].rule_id, '.m.rule.master');
  assert.equal(global.override[0].enabled, false);
  assert.ok(ids(global.override).includes('.m.rule.suppress_edits'));
  assert.deepEqual(ids(global.underride), ['.m.rule.call', '.m.rule.encrypted_room_one_to_one', '.m.rule.room_one_to_one', '.m.rule.message', '.m.rule.encrypted']);
  assert.equal(global.content[0].pattern, 'alice');
  const invite = global.override.find((rule: any) => rule.rule_id === '.m.rule.invite_for_me');
  assert.ok(invite.conditions.some((condition: any) => condition.key === 'state_key' && condition.pattern === alice.userId));
  assert.deepEqual(await ok(alice, 'GET', '/_matrix/client/v3/pushrules/global/'), global);
  assert.deepEqual((await ok(alice, 'GET', rulePath('underride', '.m.rule.message'))).actions, ['notify']);
});

test('user rules: create, place, change, disable and delete; each change arrives as m.push_rules in sync', async () => {
  const roomId = await createRoom(server, alice);
  const start = await syncOnce(server, alice);
  await ok(alice, 'PUT', rulePath('room', roomId), { actions: [] });
  await ok(alice, 'PUT', rulePath('override', 'org.example.first'), { actions: ['notify'], conditions: [{ kind: 'event_match', key: 'type', pattern: 'org.example.*' }] });
  await ok(alice, 'PUT', `${rulePath('override', 'org.example.second')}?after=org.example.first`, { actions: ['dont_notify'], conditions: [] });
  await ok(alice, 'PUT', `${rulePath('override', 'org.example.zeroth')}?before=org.example.first`, { actions: ['notify', { set_tweak: 'highlight' }] });
  await ok(alice, 'PUT', rulePath('content', 'org.example.cake'), { actions: ['notify'], pattern: 'cake*lie' });

  const { global } = await ok(alice, 'GET', '/_matrix/client/v3/pushrules/');
  assert.deepEqual(ids(global.override).slice(0, 4), ['.m.rule.master', 'org.example.zeroth', 'org.example.first', 'org.example.second'], 'master first, then user rules, then the other defaults');
  assert.deepEqual(ids(global.room), [roomId]);
  assert.deepEqual(ids(global.content), ['org.example.cake', '.m.rule.contains_user_name']);
  assert.equal((await ok(alice, 'GET', rulePath('content', 'org.example.cake'))).enabled, true);

  await ok(alice, 'PUT', rulePath('underride', '.m.rule.message', '/enabled'), { enabled: false });
  assert.deepEqual(await ok(alice, 'GET', rulePath('underride', '.m.rule.message', '/enabled')), { enabled: false });
  await ok(alice, 'PUT', rulePath('override', '.m.rule.master', '/enabled'), { enabled: true });
  await ok(alice, 'PUT', rulePath('override', 'org.example.first', '/actions'), { actions: ['dont_notify'] });
  assert.deepEqual(await ok(alice, 'GET', rulePath('override', 'org.example.first', '/actions')), { actions: ['dont_notify'] });
  await ok(alice, 'DELETE', rulePath('override', 'org.example.second'));

  const next = await syncOnce(server, alice, { since: start.next_batch });
  const event = next.account_data.events.find((entry: any) => entry.type === 'm.push_rules');
  await assertEventMatchesSpec(event);
  assert.deepEqual(ids(event.content.global.override).slice(0, 3), ['.m.rule.master', 'org.example.zeroth', 'org.example.first']);
  assert.equal(event.content.global.override[0].enabled, true);
  assert.equal(event.content.global.underride.find((rule: any) => rule.rule_id === '.m.rule.message').enabled, false);
  assert.deepEqual(event.content, { global: (await ok(alice, 'GET', '/_matrix/client/v3/pushrules/')).global });
});

test('refusals: reserved IDs, missing patterns, bad actions, unknown rules and anchors change nothing', async () => {
  const bob = await registerUser(server.url, 'bob');
  await ok(bob, 'PUT', rulePath('override', 'org.example.mine'), { actions: ['notify'], conditions: [] });
  const before = await userDataSnapshot(server);
  const cases: Array<{ method: string; path: string; body?: unknown; status: number; errcode: string }> = [
    { method: 'PUT', path: rulePath('override', '.m.rule.mine'), body: { actions: [] }, status: 400, errcode: 'M_INVALID_PARAM' },
    { method: 'PUT', path: rulePath('content', 'org.example.nopattern'), body: { actions: ['notify'] }, status: 400, errcode: 'M_MISSING_PARAM' },
    { method: 'PUT', path: rulePath('override', 'org.example.bad'), body: { actions: ['explode'] }, status: 400, errcode: 'M_BAD_JSON' },
    { method: 'PUT', path: rulePath('override', 'org.example.bad'), body: { actions: [], conditions: ['x'] }, status: 400, errcode: 'M_BAD_JSON' },
    { method: 'PUT', path: rulePath('override', 'org.example.bad'), body: {}, status: 400, errcode: 'M_MISSING_PARAM' },
    { method: 'PUT', path: `${rulePath('override', 'org.example.bad')}?before=org.example.unknown`, body: { actions: [] }, status: 404, errcode: 'M_NOT_FOUND' },
    { method: 'PUT', path: `${rulePath('override', 'org.example.bad')}?after=.m.rule.master`, body: { actions: [] }, status: 400, errcode: 'M_INVALID_PARAM' },
    { method: 'PUT', path: rulePath('room', 'not-a-room'), body: { actions: [] }, status: 400, errcode: 'M_INVALID_PARAM' },
    { method: 'PUT', path: rulePath('elsewhere', 'org.example.bad'), body: { actions: [] }, status: 400, errcode: 'M_INVALID_PARAM' },
    { method: 'DELETE', path: rulePath('override', '.m.rule.master'), status: 404, errcode: 'M_NOT_FOUND' },
    { method: 'DELETE', path: rulePath('override', 'org.example.unknown'), status: 404, errcode: 'M_NOT_FOUND' },
    { method: 'GET', path: rulePath('underride', 'org.example.mine'), status: 404, errcode: 'M_NOT_FOUND' },
    { method: 'PUT', path: rulePath('override', 'org.example.unknown', '/enabled'), body: { enabled: true }, status: 404, errcode: 'M_NOT_FOUND' },
    { method: 'PUT', path: rulePath('override', 'org.example.mine', '/actions'), body: { actions: [42] }, status: 400, errcode: 'M_BAD_JSON' },
  ];
  for (const refusal of cases) {
    const result = await request(server.url, refusal.method, refusal.path, { token: bob.accessToken, body: refusal.body });
    await assertRefusal(result, { ...refusal, checkSpec: false });
  }
  assert.deepEqual(await userDataSnapshot(server), before);
  // Clients cannot write m.push_rules as plain account data either.
  const direct = await request(server.url, 'PUT', `/_matrix/client/v3/user/${encodeURIComponent(bob.userId)}/account_data/m.push_rules`, { token: bob.accessToken, body: { global: {} } });
  assert.equal(direct.status, 405);
});
