import type { AppContext } from '../app-context.ts';
import { notFound } from '../errors.ts';
import { exclusiveOwnerOfUser } from '../appservices/namespaces.ts';
import { membersWith } from '../storage/queries/channels.ts';
import { requireChannelRole, type ChannelActor } from './channel-access.ts';
import { changeChannelPolicy, policyOf } from './channel-admin.ts';
import type { ChannelPolicy } from './channel-policy.ts';

export interface ChannelBot {
  /** The appservice's registration id. */
  id: string;
  sender: string;
  /** Its registration declares `io.palisade.supports_encryption: true`. */
  supports_encryption: boolean;
  /** The channel's `allowed_bots` admits it (null admits every appservice). */
  allowed: boolean;
  /** Its bots may actually come in: allowed, and able to read the channel if it is encrypted. */
  admissible: boolean;
  /** Its bots now joined, invited or knocking. */
  present: Array<{ user_id: string; membership: string }>;
}

/** Every registered appservice as the channel's bot policy sees it. */
export async function listChannelBots(app: AppContext, actor: ChannelActor, roomId: string): Promise<{ bots: ChannelBot[]; allowed_bots: string[] | null }> {
  const { room } = await requireChannelRole(app, actor, roomId, 'admin');
  const policy = await policyOf(app, room);
  const members = await membersWith(app.db, roomId, ['join', 'invite', 'knock']);
  const bots = app.appservices.all().map((registration) => {
    const allowed = policy.allowed_bots === null || policy.allowed_bots.includes(registration.id);
    return {
      id: registration.id,
      sender: registration.senderUserId,
      supports_encryption: registration.supportsEncryption,
      allowed,
      admissible: allowed && (policy.encryption === 'off' || registration.supportsEncryption),
      present: members
        .filter((member) => exclusiveOwnerOfUser(app.appservices, member.user_id)?.id === registration.id)
        .map((member) => ({ user_id: member.user_id, membership: member.membership })),
    };
  });
  return { bots: bots.sort((a, b) => a.id.localeCompare(b.id)), allowed_bots: policy.allowed_bots };
}

/**
 * Allows or forbids one appservice's bots in a channel by editing its
 * `allowed_bots`, through the policy change (so it is checked and audited the
 * same way). Forbidding a bot still in the channel is refused, naming it, as
 * any narrowing is: the server never removes anyone silently. Forbidding one
 * while the channel admits any bot (`null`) turns the list into every other
 * registered appservice, so appservices registered later are not admitted
 * until allowed.
 */
export async function setBotAllowed(app: AppContext, actor: ChannelActor, roomId: string, appserviceId: string, allow: boolean): Promise<ChannelPolicy> {
  const { room } = await requireChannelRole(app, actor, roomId, 'admin');
  if (!app.appservices.byId(appserviceId)) throw notFound(`There is no registered application service ${appserviceId}`);
  const current = (await policyOf(app, room)).allowed_bots;
  const everyone = app.appservices.all().map((registration) => registration.id);
  const next = allow
    ? current === null || current.includes(appserviceId) ? current : [...current, appserviceId]
    : (current ?? everyone).filter((id) => id !== appserviceId);
  return changeChannelPolicy(app, actor, roomId, { allowed_bots: next }, allow ? 'bot.allow' : 'bot.forbid');
}
