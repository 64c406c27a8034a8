import { z } from 'zod';
import { MAX_PASSWORD_LENGTH } from '../../accounts/passwords.ts';
import { MAX_AVATAR_URL_LENGTH, MAX_DISPLAYNAME_LENGTH } from '../../accounts/profile.ts';
import { MAX_USER_ID_LENGTH } from '../../accounts/user-ids.ts';
import { MAX_TOKEN_LENGTH } from '../../admin/registration-tokens.ts';

/** Schemas the user and registration-token admin routes (Palisade and Synapse paths) share. */
export const UserParams = z.object({ userId: z.string().min(3).max(MAX_USER_ID_LENGTH).startsWith('@') });
export const TokenParams = z.object({ token: z.string().min(1).max(MAX_TOKEN_LENGTH) });
/** `true` / `false` in a query string. */
export const QueryBoolean = z.enum(['true', 'false']).transform((value) => value === 'true');
export const Password = z.string().max(MAX_PASSWORD_LENGTH);
export const Displayname = z.string().max(MAX_DISPLAYNAME_LENGTH);
export const AvatarUrl = z.string().max(MAX_AVATAR_URL_LENGTH);
/** Longest search term a user list takes. */
export const MAX_SEARCH_LENGTH = 255;
/** Integers or null; their ranges are checked by server/admin/registration-tokens.ts. */
export const UsesAllowed = z.number().int().nullable();
export const ExpiryTime = z.number().int().nullable();
