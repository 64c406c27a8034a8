import { signJson } from '../../../server/rooms/signing.ts';
import { signingKeyFromSeed } from '../../../server/signing-key.ts';
import { ALICE, BOB, CAROL, runAuthCases, setState, type Room } from './fixtures.ts';

// Rule 4.4.1: invites that redeem an m.room.third_party_invite.
const IDENTITY_KEY = signingKeyFromSeed(Buffer.alloc(32, 9), '0');
const OTHER_KEY = signingKeyFromSeed(Buffer.alloc(32, 10), '0');
const TOKEN = 'abc123';

function inviteState(publicKeys: { single?: string; list?: string[] } = { single: IDENTITY_KEY.publicKeyBase64 }, sender = ALICE) {
  return (room: Room) => {
    const content: Record<string, unknown> = { display_name: 'b...@example.org', key_validity_url: 'https://id.example/isvalid' };
    if (publicKeys.single) content.public_key = publicKeys.single;
    if (publicKeys.list) content.public_keys = publicKeys.list.map((public_key) => ({ public_key }));
    setState(room, sender, 'm.room.third_party_invite', TOKEN, content);
  };
}

function redeem(options: { mxid?: string; token?: string; key?: typeof IDENTITY_KEY; sender?: string; signed?: unknown } = {}) {
  const signedBlock = options.signed ?? signJson({ mxid: options.mxid ?? BOB, token: options.token ?? TOKEN }, 'id.example', options.key ?? IDENTITY_KEY);
  return {
    sender: options.sender ?? ALICE, type: 'm.room.member', stateKey: BOB,
    content: { membership: 'invite', third_party_invite: { display_name: 'b...@example.org', signed: signedBlock } },
  };
}

const TWO_INVITERS = { powerLevels: { users: { [ALICE]: 100 }, state_default: 0 }, members: { [CAROL]: 'join' } };

runAuthCases([
  { name: 'a third-party invite signed with the published key is redeemed', setup: inviteState(), event: redeem(), allowed: true },
  { name: 'a key from public_keys also counts', setup: inviteState({ list: [OTHER_KEY.publicKeyBase64, IDENTITY_KEY.publicKeyBase64] }), event: redeem(), allowed: true },
  {
    name: 'URL-safe base64 public keys are accepted',
    setup: inviteState({ single: IDENTITY_KEY.publicKeyBase64.replace(/\+/g, '-').replace(/\//g, '_') }),
    event: redeem(), allowed: true,
  },
  { name: 'a signature by another key is refused', setup: inviteState(), event: redeem({ key: OTHER_KEY }), allowed: false, reason: /not signed by any key/ },
  { name: 'a signed block for another user is refused', setup: inviteState(), event: redeem({ mxid: CAROL }), allowed: false, reason: /issued to @carol/ },
  { name: 'a token with no matching invite is refused', setup: inviteState(), event: redeem({ token: 'nope' }), allowed: false, reason: /matches the token/ },
  { name: 'only the inviter may complete the invite', room: TWO_INVITERS, setup: inviteState(), event: redeem({ sender: CAROL }), allowed: false, reason: /only @alice:\S+, who sent the third-party invite/ },
  { name: 'no signed block is refused', setup: inviteState(), event: redeem({ signed: 'x' }), allowed: false, reason: /no signed block/ },
  { name: 'a signed block without mxid and token is refused', setup: inviteState(), event: redeem({ signed: { signatures: {} } }), allowed: false, reason: /needs mxid and token/ },
  { name: 'a banned target cannot be invited by third-party invite', room: { members: { [BOB]: 'ban' } }, setup: inviteState(), event: redeem(), allowed: false, reason: /banned/ },
]);
