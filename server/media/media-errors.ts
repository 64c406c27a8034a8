import { ErrCode, MatrixError } from '../errors.ts';

/** Media-only error codes from the content repository spec. */
export const MediaErrCode = {
  CANNOT_OVERWRITE_MEDIA: 'M_CANNOT_OVERWRITE_MEDIA',
  NOT_YET_UPLOADED: 'M_NOT_YET_UPLOADED',
} as const;

export const cannotOverwrite = () => new MatrixError(MediaErrCode.CANNOT_OVERWRITE_MEDIA, 'Media already uploaded', { status: 409 });
export const notYetUploaded = () => new MatrixError(MediaErrCode.NOT_YET_UPLOADED, 'Content has not yet been uploaded', { status: 504 });
export const cannotThumbnail = () => new MatrixError(ErrCode.UNKNOWN, 'Cannot generate thumbnails for the requested content', { status: 400 });
