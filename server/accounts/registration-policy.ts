import type { Config } from '../config.ts';

/** The UIA flows `/register` offers: a token when the server requires one, otherwise a dummy stage. */
export function registrationFlows(config: Pick<Config, 'registration_requires_token'>): string[][] {
  return config.registration_requires_token ? [['m.login.registration_token']] : [['m.login.dummy']];
}
