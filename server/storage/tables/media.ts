import type { Insertable, JSONColumnType, Selectable } from 'kysely';

/** Stored bytes, once per sha256; `refcount` counts the `media` rows pointing here. */
export interface MediaContentTable {
  sha256: string;
  size: number;
  refcount: number;
  created_ts: number;
}

/** One media ID (`mxc://<server>/<media_id>`). `sha256` is null while an async upload is pending. */
export interface MediaTable {
  media_id: string;
  user_id: string;
  content_type: string | null;
  upload_name: string | null;
  sha256: string | null;
  size: number | null;
  created_ts: number;
  uploaded_ts: number | null;
  unused_expires_at: number | null;
  authenticated: boolean;
  quarantined_by: string | null;
}

export interface MediaThumbnailsTable {
  sha256: string;
  width: number;
  height: number;
  method: 'crop' | 'scale';
  animated: boolean;
  content_type: string;
  size: number;
  storage_key: string;
  created_ts: number;
}

export interface UrlPreviewsTable {
  url: string;
  og: JSONColumnType<Record<string, unknown>>;
  fetched_ts: number;
  expires_ts: number;
}

export type MediaRow = Selectable<MediaTable>;
export type NewMediaRow = Insertable<MediaTable>;
export type MediaContentRow = Selectable<MediaContentTable>;
export type MediaThumbnailRow = Selectable<MediaThumbnailsTable>;
