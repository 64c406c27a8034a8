import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * Appservice registration files, in the standard format every homeserver and
 * bridge uses. Validated one by one here and as a set in `registration-set.ts`.
 */
const Namespace = z.strictObject({
  regex: z.string().min(1).max(1024),
  exclusive: z.boolean().default(false),
  group_id: z.string().optional(),
});

export const RegistrationFile = z
  .looseObject({
    id: z.string().min(1).max(255),
    url: z.url().nullable(),
    as_token: z.string().min(1).max(512),
    hs_token: z.string().min(1).max(512),
    sender_localpart: z.string().regex(/^[a-z0-9._=\-/+]+$/, 'expected a lower-case localpart'),
    namespaces: z
      .strictObject({
        users: z.array(Namespace).default([]),
        aliases: z.array(Namespace).default([]),
        rooms: z.array(Namespace).default([]),
      })
      .default({ users: [], aliases: [], rooms: [] }),
    rate_limited: z.boolean().default(true),
    protocols: z.array(z.string().min(1)).default([]),
    receive_ephemeral: z.boolean().optional(),
    'de.sorunome.msc2409.push_ephemeral': z.boolean().optional(),
    push_ephemeral: z.boolean().optional(),
    'org.matrix.msc3202': z.boolean().optional(),
    'io.element.msc4190': z.boolean().optional(),
    /** Palisade: the appservice's bots can take part in encrypted channels (they hold E2EE devices). */
    'io.palisade.supports_encryption': z.boolean().default(false),
  })
  .refine((file) => file.as_token !== file.hs_token, { message: 'as_token and hs_token must differ', path: ['hs_token'] });

export type RegistrationFile = z.output<typeof RegistrationFile>;

export interface NamespaceRule {
  regex: RegExp;
  source: string;
  exclusive: boolean;
}

/** A validated registration with its regexes compiled, as the rest of the server uses it. */
export interface Registration {
  id: string;
  url: string | null;
  asToken: string;
  hsToken: string;
  senderUserId: string;
  namespaces: { users: NamespaceRule[]; aliases: NamespaceRule[]; rooms: NamespaceRule[] };
  rateLimited: boolean;
  protocols: string[];
  receiveEphemeral: boolean;
  /** MSC3202: device masquerading, device list changes and OTK counts in transactions. */
  deviceMasquerading: boolean;
  /** MSC4190: the appservice manages its users' devices. */
  deviceManagement: boolean;
  supportsEncryption: boolean;
}

export class RegistrationError extends Error {}

/** Parses one registration; every problem names the file and the key. */
export function parseRegistration(raw: unknown, source: string, serverName: string): Registration {
  const parsed = RegistrationFile.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    throw new RegistrationError(`${source}: ${problems.join('; ')}`);
  }
  const file = parsed.data;
  const compile = (kind: string) => (namespace: z.output<typeof Namespace>, index: number): NamespaceRule => {
    try {
      // Anchored: a namespace regex must match the whole ID, as Synapse does.
      return { regex: new RegExp(`^(?:${namespace.regex})$`), source: namespace.regex, exclusive: namespace.exclusive };
    } catch (error) {
      throw new RegistrationError(`${source}: namespaces.${kind}.${index}.regex: ${(error as Error).message}`);
    }
  };
  return {
    id: file.id,
    url: file.url,
    asToken: file.as_token,
    hsToken: file.hs_token,
    senderUserId: `@${file.sender_localpart}:${serverName}`,
    namespaces: {
      users: file.namespaces.users.map(compile('users')),
      aliases: file.namespaces.aliases.map(compile('aliases')),
      rooms: file.namespaces.rooms.map(compile('rooms')),
    },
    rateLimited: file.rate_limited,
    protocols: file.protocols,
    receiveEphemeral: Boolean(file.receive_ephemeral ?? file['de.sorunome.msc2409.push_ephemeral'] ?? file.push_ephemeral),
    deviceMasquerading: Boolean(file['org.matrix.msc3202']),
    deviceManagement: Boolean(file['io.element.msc4190']),
    supportsEncryption: file['io.palisade.supports_encryption'],
  };
}

export function readRegistrationFile(path: string, serverName: string): Registration {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new RegistrationError(`${path}: cannot read the registration: ${(error as Error).message}`);
  }
  return parseRegistration(raw, path, serverName);
}
