import { allow, deny, type AuthResult } from './auth-result.ts';
import { stateKey, type PersistentEvent, type StateMap } from './event.ts';
import { domainOf } from './identifiers.ts';
import { namedPowerLevel, powerLevelOf } from './power-levels.ts';
import { redactedEventIdOf } from './redaction.ts';

/**
 * Whether an (already authorised) m.room.redaction takes effect on `target`
 * (spec: rooms/fragments/v3-handling-redactions.md). The auth rules never look
 * at the redact level; this does.
 *
 * - 'federation': the spec's rule. The sender has the redact level, or is on
 *   the same server as the target's sender (that server vouches for its users).
 * - 'client': a local user's request. The sender has the redact level, or sent
 *   the target themselves; a same-server stranger is refused, as Synapse does.
 */
export type RedactionScope = 'client' | 'federation';

export function checkRedactionTarget(
  redaction: PersistentEvent,
  target: PersistentEvent,
  authState: StateMap,
  roomVersion: string,
  scope: RedactionScope,
): AuthResult {
  if (redaction.type !== 'm.room.redaction') return deny(`${redaction.type} is not a redaction`);
  const redacts = redactedEventIdOf(redaction, roomVersion);
  if (redacts !== target.event_id) return deny(`the redaction redacts ${redacts ?? 'nothing'}, not ${target.event_id}`);
  if (target.room_id !== redaction.room_id) return deny(`event ${target.event_id} is in another room`);

  const powerLevels = authState.get(stateKey('m.room.power_levels', ''));
  const create = authState.get(stateKey('m.room.create', ''));
  const level = powerLevelOf(redaction.sender, powerLevels, create, roomVersion);
  const redactLevel = namedPowerLevel('redact', powerLevels);
  if (level >= redactLevel) return allow();

  const ownEvent = scope === 'client' ? redaction.sender === target.sender : domainOf(redaction.sender) === domainOf(target.sender);
  if (ownEvent) return allow();
  return deny(`sender's power level ${level} is below the ${redactLevel} needed to redact ${target.sender}'s events`);
}
