import { ErrCode, MatrixError } from '../errors.ts';
import type { NamespaceRule, Registration } from './registration.ts';
import type { AppserviceRegistry } from './registry.ts';

const matchesAny = (rules: readonly NamespaceRule[], value: string) => rules.some((rule) => rule.regex.test(value));

/** The appservice may act as this user: its sender, or any user its users namespace matches. */
export function ownsUser(registration: Registration, userId: string): boolean {
  return userId === registration.senderUserId || matchesAny(registration.namespaces.users, userId);
}

export function matchesRoom(registration: Registration, roomId: string): boolean {
  return matchesAny(registration.namespaces.rooms, roomId);
}

export function matchesAlias(registration: Registration, alias: string): boolean {
  return matchesAny(registration.namespaces.aliases, alias);
}

/** The appservice that claims this user ID exclusively (or as its sender), if any. */
export function exclusiveOwnerOfUser(registry: AppserviceRegistry, userId: string): Registration | undefined {
  return registry
    .all()
    .find((registration) => userId === registration.senderUserId || registration.namespaces.users.some((rule) => rule.exclusive && rule.regex.test(userId)));
}

export function exclusiveOwnerOfAlias(registry: AppserviceRegistry, alias: string): Registration | undefined {
  return registry.all().find((registration) => registration.namespaces.aliases.some((rule) => rule.exclusive && rule.regex.test(alias)));
}

/** Ordinary registration may not take a user ID an appservice reserved (M_EXCLUSIVE). */
export function assertUserIdNotReserved(registry: AppserviceRegistry, userId: string, caller?: Registration): void {
  const owner = exclusiveOwnerOfUser(registry, userId);
  if (owner && owner.id !== caller?.id) throw new MatrixError(ErrCode.EXCLUSIVE, 'This user ID is reserved by an application service');
}

/**
 * Aliases in an appservice's exclusive namespace are its alone (400
 * M_EXCLUSIVE for anyone else), and an appservice creates aliases only inside
 * its aliases namespace, as Synapse enforces.
 */
export function assertMayClaimAlias(registry: AppserviceRegistry, alias: string, caller?: Registration): void {
  if (caller) {
    if (!matchesAlias(caller, alias)) throw new MatrixError(ErrCode.EXCLUSIVE, 'This application service has not reserved this kind of alias');
    return;
  }
  if (exclusiveOwnerOfAlias(registry, alias)) throw new MatrixError(ErrCode.EXCLUSIVE, 'This alias is reserved by an application service');
}
