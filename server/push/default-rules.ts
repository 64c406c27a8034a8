/**
 * The spec's predefined ("server-default") push rules (client-server API,
 * "Push Rules: Predefined Rules"), in the spec's order. `[the user's Matrix
 * ID]` and `[the local part ...]` placeholders are filled in per user.
 */

export type PushAction = string | Record<string, unknown>;

export interface PushRule {
  rule_id: string;
  default: boolean;
  enabled: boolean;
  actions: PushAction[];
  conditions?: Array<Record<string, unknown>>;
  pattern?: string;
}

export const RULE_KINDS = ['override', 'content', 'room', 'sender', 'underride'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];
export type Ruleset = Record<RuleKind, PushRule[]>;

const SOUND = { set_tweak: 'sound', value: 'default' };
const HIGHLIGHT = { set_tweak: 'highlight' };
const match = (key: string, pattern: string) => ({ kind: 'event_match', key, pattern });
const rule = (rule_id: string, actions: PushAction[], extra: Partial<PushRule> = {}, enabled = true): PushRule => ({ rule_id, default: true, enabled, actions, ...extra });

export function defaultRules(userId: string): Ruleset {
  const localpart = userId.slice(1, userId.indexOf(':'));
  return {
    override: [
      rule('.m.rule.master', [], { conditions: [] }, false),
      rule('.m.rule.suppress_notices', [], { conditions: [match('content.msgtype', 'm.notice')] }),
      rule('.m.rule.invite_for_me', ['notify', SOUND], { conditions: [match('type', 'm.room.member'), match('content.membership', 'invite'), match('state_key', userId)] }),
      rule('.m.rule.member_event', [], { conditions: [match('type', 'm.room.member')] }),
      rule('.m.rule.is_user_mention', ['notify', SOUND, HIGHLIGHT], { conditions: [{ kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: userId }] }),
      rule('.m.rule.contains_display_name', ['notify', SOUND, HIGHLIGHT], { conditions: [{ kind: 'contains_display_name' }] }),
      rule('.m.rule.is_room_mention', ['notify', HIGHLIGHT], {
        conditions: [{ kind: 'event_property_is', key: 'content.m\\.mentions.room', value: true }, { kind: 'sender_notification_permission', key: 'room' }],
      }),
      rule('.m.rule.roomnotif', ['notify', HIGHLIGHT], { conditions: [match('content.body', '@room'), { kind: 'sender_notification_permission', key: 'room' }] }),
      rule('.m.rule.tombstone', ['notify', HIGHLIGHT], { conditions: [match('type', 'm.room.tombstone'), match('state_key', '')] }),
      rule('.m.rule.reaction', [], { conditions: [match('type', 'm.reaction')] }),
      rule('.m.rule.room.server_acl', [], { conditions: [match('type', 'm.room.server_acl'), match('state_key', '')] }),
      rule('.m.rule.suppress_edits', [], { conditions: [{ kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.replace' }] }),
    ],
    content: [rule('.m.rule.contains_user_name', ['notify', SOUND, HIGHLIGHT], { pattern: localpart })],
    room: [],
    sender: [],
    underride: [
      rule('.m.rule.call', ['notify', { set_tweak: 'sound', value: 'ring' }], { conditions: [match('type', 'm.call.invite')] }),
      rule('.m.rule.encrypted_room_one_to_one', ['notify', SOUND], { conditions: [{ kind: 'room_member_count', is: '2' }, match('type', 'm.room.encrypted')] }),
      rule('.m.rule.room_one_to_one', ['notify', SOUND], { conditions: [{ kind: 'room_member_count', is: '2' }, match('type', 'm.room.message')] }),
      rule('.m.rule.message', ['notify'], { conditions: [match('type', 'm.room.message')] }),
      rule('.m.rule.encrypted', ['notify'], { conditions: [match('type', 'm.room.encrypted')] }),
    ],
  };
}
