import { z } from 'zod';

/** `{serverName}/{mediaId}` of an mxc URI; the media ID's characters are checked by the domain (404, not 400). */
export const MediaParams = z.object({
  serverName: z.string().min(1).max(255),
  mediaId: z.string().min(1).max(255),
  fileName: z.string().max(255).optional(),
});

const QueryBoolean = z.enum(['true', 'false']).transform((value) => value === 'true');
const TimeoutMs = z.coerce.number().int().nonnegative().optional();

export const DownloadQuery = z.looseObject({
  timeout_ms: TimeoutMs,
  allow_remote: QueryBoolean.optional(),
  allow_redirect: QueryBoolean.optional(),
});

/** Thumbnail dimensions beyond this are nonsense (the domain caps what it generates lower still). */
const MAX_REQUESTED_DIMENSION = 10_000;

export const ThumbnailQuery = z.looseObject({
  width: z.coerce.number().int().positive().max(MAX_REQUESTED_DIMENSION),
  height: z.coerce.number().int().positive().max(MAX_REQUESTED_DIMENSION),
  method: z.enum(['crop', 'scale']).default('scale'),
  animated: QueryBoolean.optional(),
  timeout_ms: TimeoutMs,
  allow_remote: QueryBoolean.optional(),
  allow_redirect: QueryBoolean.optional(),
});
