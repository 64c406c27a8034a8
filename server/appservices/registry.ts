import { timingSafeEqual } from 'node:crypto';
import { readRegistrationFile, RegistrationError, type Registration } from './registration.ts';
import { validateRegistrationSet } from './registration-set.ts';

/**
 * The appservices this server knows, in memory on AppContext. Built from
 * `app_service_config_files` at start-up; `reload` re-reads them and swaps the
 * whole set at once (or keeps the old one if the new one is invalid), and
 * `setManaged` installs those added through the admin API (rows in Postgres),
 * validated together with the files'.
 */
export interface AppserviceRegistry {
  all(): readonly Registration[];
  byId(id: string): Registration | undefined;
  /** The appservice whose `as_token` this is, if any. */
  byAsToken(token: string): Registration | undefined;
  /** Re-reads the files (registrations added through the admin API stay). */
  reload(): void;
  /** Installs the registrations managed through the admin API (alongside the files'). */
  setManaged(registrations: Registration[]): void;
  /** Whether this appservice comes from a file (files are the admin's; the admin API cannot change them). */
  isFromFile(id: string): boolean;
  /** Tells other processes the managed registrations changed (a no-op until `setAnnouncer`; Redis sets one). */
  announceChange(): Promise<void>;
  setAnnouncer(announce: () => Promise<void>): void;
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
  let fromFiles: Registration[] = [];
  let managed: Registration[] = [];
  let byId = new Map<string, Registration>();
  let announcer: () => Promise<void> = async () => undefined;
  const install = (nextFiles: Registration[], nextManaged: Registration[]) => {
    const next = [...nextFiles, ...nextManaged];
    validateRegistrationSet(next);
    fromFiles = nextFiles;
    managed = nextManaged;
    registrations = next;
    byId = new Map(next.map((registration) => [registration.id, registration]));
  };
  install(loadRegistrations(files, serverName), []);
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
    reload: () => install(loadRegistrations(files, serverName), managed),
    setManaged: (next) => install(fromFiles, next),
    isFromFile: (id) => fromFiles.some((registration) => registration.id === id),
    announceChange: () => announcer(),
    setAnnouncer(announce) {
      announcer = announce;
    },
  };
}
