import { timingSafeEqual } from 'node:crypto';
import { readRegistrationFile, RegistrationError, type Registration } from './registration.ts';
import { validateRegistrationSet } from './registration-set.ts';

/**
 * The appservices this server knows, in memory on AppContext. Built from
 * `app_service_config_files` at start-up; `reload` re-reads them and swaps the
 * whole set at once (or keeps the old one if the new one is invalid), and
 * `replace` installs a set built elsewhere (an admin API), validated the same way.
 */
export interface AppserviceRegistry {
  all(): readonly Registration[];
  byId(id: string): Registration | undefined;
  /** The appservice whose `as_token` this is, if any. */
  byAsToken(token: string): Registration | undefined;
  reload(): void;
  replace(registrations: Registration[]): void;
}

/** Reads every file and validates them as a set; every problem names its file. */
export function loadRegistrations(files: readonly string[], serverName: string): Registration[] {
  const registrations = files.map((file) => readRegistrationFile(file, serverName));
  try {
    validateRegistrationSet(registrations);
  } catch (error) {
    if (!(error instanceof RegistrationError)) throw error;
    const sources = registrations.map((registration, index) => `${registration.id} is ${files[index]}`).join(', ');
    throw new RegistrationError(`${error.message}\n  (${sources})`);
  }
  return registrations;
}

export function createAppserviceRegistry(files: readonly string[], serverName: string): AppserviceRegistry {
  let registrations: Registration[] = [];
  let byId = new Map<string, Registration>();
  const install = (next: Registration[]) => {
    validateRegistrationSet(next);
    registrations = next;
    byId = new Map(next.map((registration) => [registration.id, registration]));
  };
  install(loadRegistrations(files, serverName));
  return {
    all: () => registrations,
    byId: (id) => byId.get(id),
    byAsToken(token) {
      const presented = Buffer.from(token);
      // Compared in constant time: the token is a secret and the set is small.
      return registrations.find((registration) => {
        const known = Buffer.from(registration.asToken);
        return known.length === presented.length && timingSafeEqual(known, presented);
      });
    },
    reload: () => install(loadRegistrations(files, serverName)),
    replace: (next) => install(next),
  };
}
