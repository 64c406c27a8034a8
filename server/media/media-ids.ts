import { randomBytes } from 'node:crypto';
import { notFound } from '../errors.ts';

/** The spec's allowed media ID characters (content_repo "Security considerations"): no traversal possible. */
const MEDIA_ID = /^[A-Za-z0-9_-]{1,255}$/;
const MEDIA_ID_BYTES = 18;

export function newMediaId(): string {
  return randomBytes(MEDIA_ID_BYTES).toString('base64url');
}

export function mxcUri(serverName: string, mediaId: string): string {
  return `mxc://${serverName}/${mediaId}`;
}

/**
 * The media ID of a local `serverName/mediaId` pair, or M_NOT_FOUND. Remote
 * media is not fetched (no federation yet), so any other server name is unknown here.
 */
export function localMediaId(ownServerName: string, serverName: string, mediaId: string): string {
  if (serverName !== ownServerName || !MEDIA_ID.test(mediaId)) throw notFound('Unknown media');
  return mediaId;
}
