import type { AppContext } from '../../app-context.ts';

/**
 * Hook for the channel policy (issue 7): link previews are a per-channel
 * setting, off by default, because fetching a page tells the linked site that
 * someone read the link. `preview_url` carries no room ID today, so when the
 * channel module lands it decides here, for clients that say which room a URL
 * came from (or by refusing previews for users whose channels all forbid them).
 * Until then every room allows previews and only `url_preview_enabled` decides.
 */
export async function isPreviewAllowedForRoom(_app: AppContext, _userId: string, _roomId: string | undefined): Promise<boolean> {
  return true;
}
