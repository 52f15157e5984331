/** Typed errors of the hashers: callers branch on `code`, users read `message`. */

export type ContentErrorCode =
  | 'empty_file'
  | 'unsupported_format'
  | 'corrupt_content'
  | 'too_many_pixels'
  | 'timeout'
  | 'video_unreadable'
  | 'ffmpeg_missing';

export class ContentError extends Error {
  override readonly name = 'ContentError';
  constructor(
    readonly code: ContentErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A malformed row or document in a bank import/export or a vPDQ hash file. */
export class FormatError extends Error {
  override readonly name = 'FormatError';
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(line === undefined ? message : `line ${line}: ${message}`);
  }
}
