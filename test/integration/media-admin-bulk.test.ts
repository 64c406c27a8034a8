import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { registerUser, request, type TestUser } from '../support/http.ts';
import { assertRefusal } from '../support/refusals.ts';
import { createRoom, putState, roomPost, sendMessage } from '../support/rooms.ts';
import { authed, getMedia, mediaIdOf, uploadBytes } from '../support/media.ts';

describe('media admin API: a room\'s media, a user\'s media', () => {
  let server: TestServer;
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;
  before(async () => {
    server = await startTestServer();
    admin = await registerUser(server.url, 'root', { admin: true });
    alice = await registerUser(server.url, 'alice');
    bob = await registerUser(server.url, 'bob');
  });
  after(() => server.stop());

  const upload = async (user: TestUser, text: string) => (await uploadBytes(server, user, Buffer.from(text), { contentType: 'text/plain' })).body.content_uri as string;
  const status = async (mxc: string) => (await getMedia(server, authed(`download/localhost/${mediaIdOf(mxc)}`), bob.accessToken)).status;

  test("the room's images, thumbnails and avatars are quarantined; media of other rooms is not; admins only", async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    assert.equal((await roomPost(server, bob, roomId, 'join')).status, 200);
    const [image, thumb, roomAvatar, memberAvatar, elsewhere] = [
      await upload(alice, 'image'),
      await upload(alice, 'thumb'),
      await upload(alice, 'room avatar'),
      await upload(bob, 'member avatar'),
      await upload(bob, 'posted in another room'),
    ];
    assert.equal((await sendMessage(server, alice, roomId, { msgtype: 'm.image', body: 'pic', url: image, info: { thumbnail_url: thumb } })).status, 200);
    assert.equal((await putState(server, alice, roomId, 'm.room.avatar', '', { url: roomAvatar })).status, 200);
    assert.equal((await putState(server, bob, roomId, 'm.room.member', bob.userId, { membership: 'join', avatar_url: memberAvatar })).status, 200);
    const other = await createRoom(server, bob);
    assert.equal((await sendMessage(server, bob, other, { msgtype: 'm.file', body: 'f', url: elsewhere })).status, 200);

    const path = `/_synapse/admin/v1/room/${encodeURIComponent(roomId)}/media/quarantine`;
    await assertRefusal(await request(server.url, 'POST', path, { token: alice.accessToken }), { status: 403, errcode: 'M_FORBIDDEN', method: 'POST', path, checkSpec: false });
    for (const mxc of [image, thumb, roomAvatar, memberAvatar]) assert.equal(await status(mxc), 200, 'a refused call changed nothing');

    const result = await request(server.url, 'POST', path, { token: admin.accessToken });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.deepEqual(result.body, { num_quarantined: 4 });
    for (const mxc of [image, thumb, roomAvatar, memberAvatar]) assert.equal(await status(mxc), 404, mxc);
    assert.equal(await status(elsewhere), 200);
    // Already quarantined media is not counted again.
    assert.deepEqual((await request(server.url, 'POST', path, { token: admin.accessToken })).body, { num_quarantined: 0 });

    const unknown = `/_synapse/admin/v1/room/${encodeURIComponent('!nosuch:localhost')}/media/quarantine`;
    await assertRefusal(await request(server.url, 'POST', unknown, { token: admin.accessToken }), { status: 404, errcode: 'M_NOT_FOUND', method: 'POST', path: unknown, checkSpec: false });
  });

  test("a user's media: listed page by page and deleted all at once, by admins only", async () => {
    const carol = await registerUser(server.url, 'carol');
    const mine = [await upload(carol, 'c1'), await upload(carol, 'c2'), await upload(carol, 'c3')].map(mediaIdOf);
    const bobs = await upload(bob, 'not carol');
    const base = `/_synapse/admin/v1/users/${encodeURIComponent(carol.userId)}/media`;

    await assertRefusal(await request(server.url, 'GET', base, { token: carol.accessToken }), { status: 403, errcode: 'M_FORBIDDEN', method: 'GET', path: base, checkSpec: false });
    const first = await request(server.url, 'GET', `${base}?limit=2`, { token: admin.accessToken });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.total, 3);
    assert.equal(first.body.next_token, 2);
    assert.deepEqual(Object.keys(first.body.media[0]).sort(), ['created_ts', 'media_id', 'media_length', 'media_type', 'quarantined_by', 'safe_from_quarantine', 'upload_name']);
    assert.equal(first.body.media[0].media_type, 'text/plain');
    assert.equal(first.body.media[0].media_length, 2);
    const second = await request(server.url, 'GET', `${base}?from=2&limit=2`, { token: admin.accessToken });
    assert.equal(second.body.next_token, undefined);
    assert.deepEqual([...first.body.media, ...second.body.media].map((entry: { media_id: string }) => entry.media_id).sort(), [...mine].sort());

    await assertRefusal(await request(server.url, 'DELETE', base, { token: carol.accessToken }), { status: 403, errcode: 'M_FORBIDDEN', method: 'DELETE', path: base, checkSpec: false });
    const deleted = await request(server.url, 'DELETE', base, { token: admin.accessToken });
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.total, 3);
    assert.deepEqual([...deleted.body.deleted_media].sort(), [...mine].sort());
    for (const mediaId of mine) assert.equal(await status(`mxc://localhost/${mediaId}`), 404);
    assert.equal(await status(bobs), 200);
    assert.deepEqual((await request(server.url, 'GET', base, { token: admin.accessToken })).body, { media: [], total: 0 });

    const stranger = `/_synapse/admin/v1/users/${encodeURIComponent('@nobody:localhost')}/media`;
    await assertRefusal(await request(server.url, 'GET', stranger, { token: admin.accessToken }), { status: 404, errcode: 'M_NOT_FOUND', method: 'GET', path: stranger, checkSpec: false });
    const remote = `/_synapse/admin/v1/users/${encodeURIComponent('@x:elsewhere.org')}/media`;
    await assertRefusal(await request(server.url, 'GET', remote, { token: admin.accessToken }), { status: 400, errcode: 'M_INVALID_PARAM', method: 'GET', path: remote, checkSpec: false });
  });
});
