/** The outcome of an authorisation check; a refusal says why in words a room admin understands. */
export type AuthResult = { allowed: true } | { allowed: false; reason: string };

const ALLOWED: AuthResult = Object.freeze({ allowed: true });

export function allow(): AuthResult {
  return ALLOWED;
}

export function deny(reason: string): AuthResult {
  return { allowed: false, reason };
}
