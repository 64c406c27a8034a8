import { allow, deny, type AuthResult } from './auth-result.ts';
import { membershipIn, type AuthContext } from './auth-context.ts';
import { stateKey } from './event.ts';
import { verifyJsonSignature } from './signing.ts';

type Json = Record<string, unknown>;

function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

/**
 * Auth rule 4.4.1: an invite that redeems a third-party invite. The identity
 * server's `signed` block must be signed with a key the room's
 * m.room.third_party_invite event published, and name the invited user.
 */
export function checkThirdPartyInvite(context: AuthContext, target: string): AuthResult {
  const { event, state } = context;
  if (membershipIn(state, target) === 'ban') return deny(`${target} is banned from the room`);
  const signed = asObject(asObject(event.content.third_party_invite)?.signed);
  if (!signed) return deny('third_party_invite has no signed block');
  const { mxid, token } = signed;
  if (typeof mxid !== 'string' || typeof token !== 'string') return deny('third_party_invite.signed needs mxid and token');
  if (mxid !== target) return deny(`third_party_invite was issued to ${mxid}, not ${target}`);
  const invite = state.get(stateKey('m.room.third_party_invite', token));
  if (!invite) return deny('no m.room.third_party_invite in the room matches the token');
  if (invite.sender !== event.sender) return deny(`only ${invite.sender}, who sent the third-party invite, can complete it`);
  const keys = publicKeysOf(invite.content);
  return isSignedByAny(signed, keys) ? allow() : deny('third_party_invite.signed is not signed by any key of the third-party invite');
}

/** `public_key` and every `public_keys[].public_key`. */
function publicKeysOf(content: Json): string[] {
  const keys: string[] = [];
  if (typeof content.public_key === 'string') keys.push(content.public_key);
  if (Array.isArray(content.public_keys)) {
    for (const entry of content.public_keys) {
      const key = asObject(entry)?.public_key;
      if (typeof key === 'string') keys.push(key);
    }
  }
  return keys;
}

function isSignedByAny(signed: Json, publicKeys: readonly string[]): boolean {
  const signatures = asObject(signed.signatures) ?? {};
  for (const [entity, byKey] of Object.entries(signatures)) {
    for (const keyId of Object.keys(asObject(byKey) ?? {})) {
      if (!keyId.startsWith('ed25519:')) continue;
      if (publicKeys.some((key) => verifyJsonSignature(signed, entity, keyId, key))) return true;
    }
  }
  return false;
}
