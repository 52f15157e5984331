/**
 * Media uploads: the bytes stream into a staging file of the blob store (never held whole in memory),
 * the type is sniffed from the bytes — sharp's header reader for images, ffprobe for videos — never
 * taken from the request, the hasher runs (images: PDQ ×8 and exact hashes; videos: exact hashes now,
 * vPDQ later), and only then is the blob committed. Bad input is a DomainError with a 4xx code.
 */
import { readFile } from 'node:fs/promises';
import { ContentError, exactHashesOfFile, hashImage, IMAGE_FORMATS, probeVideo, type ImageLimits, type ImageSignals } from '@doublelock/moderation';
import { DomainError, ErrorCode } from '@doublelock/protocol';
import sharp from 'sharp';

/** A blob that has been received but not yet committed to the store. */
export interface StagedBlob {
  path: string;
  sha256: string;
  size: number;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/** What channels need from the blob store (the server's LocalBlobStore implements it). */
export interface MediaBlobStore {
  /** Streams a body to a staging file while hashing it; more than maxBytes → payload_too_large. */
  stage(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedBlob>;
  /** A local file holding a committed blob (sharp and ffmpeg read files), or undefined. */
  path(sha256: string): Promise<string | undefined>;
}

export interface MediaLimits {
  maxImageBytes: number;
  maxVideoBytes: number;
  maxImagePixels: number;
  maxVideoSeconds: number;
  maxVideoFramePixels: number;
}

export const DEFAULT_MEDIA_LIMITS: MediaLimits = {
  maxImageBytes: 20 * 1024 * 1024,
  maxVideoBytes: 200 * 1024 * 1024,
  maxImagePixels: 50_000_000,
  maxVideoSeconds: 600,
  maxVideoFramePixels: 3840 * 2160,
};

const IMAGE_TYPES: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tiff: 'image/tiff',
  avif: 'image/avif',
  heif: 'image/heif',
  jp2: 'image/jp2',
};

/** ffprobe container names → the content type we serve. Anything else is refused. */
function videoType(formatName: string | undefined): string | undefined {
  const f = formatName ?? '';
  if (/\b(mp4|mov)\b/.test(f)) return 'video/mp4';
  if (/\bwebm\b/.test(f)) return 'video/webm';
  if (/\bmatroska\b/.test(f)) return 'video/x-matroska';
  if (/\bogg\b/.test(f)) return 'video/ogg';
  return undefined;
}

export interface SniffedMedia {
  kind: 'image' | 'video';
  contentType: string;
  width: number;
  height: number;
  signals: ImageSignals | { md5: string; sha256: string };
}

/** A hasher's ContentError as the HTTP error the uploader sees. */
export function mediaError(error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  if (!(error instanceof ContentError)) return new DomainError(ErrorCode.corruptMedia, `The file could not be read as an image or a video: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  const message = error.message.replace(/\/[^\s]*\/tmp\/[^\s]+/g, 'the upload');
  switch (error.code) {
    case 'empty_file':
      return new DomainError(ErrorCode.badRequest, 'The upload is empty.');
    case 'unsupported_format':
      return new DomainError(ErrorCode.unsupportedMedia, `Unsupported media: ${message}`);
    case 'too_many_pixels':
      return new DomainError(ErrorCode.tooManyPixels, `Too large to decode: ${message}`);
    case 'ffmpeg_missing':
      return new DomainError(ErrorCode.internal, 'Video checking is not available on this server.');
    default:
      return new DomainError(ErrorCode.corruptMedia, `The file is truncated or corrupt: ${message}`);
  }
}

/** Sniffs a staged file and runs the hasher on it. */
export async function sniffAndHash(staged: StagedBlob, limits: MediaLimits): Promise<SniffedMedia> {
  let format: string | undefined;
  try {
    format = (await sharp(staged.path, { limitInputPixels: false }).metadata()).format;
  } catch {
    format = undefined;
  }
  try {
    if (format) {
      if (!(IMAGE_FORMATS as readonly string[]).includes(format) || !IMAGE_TYPES[format]) {
        throw new DomainError(ErrorCode.unsupportedMedia, `Unsupported media: this is ${format}; images may be ${Object.keys(IMAGE_TYPES).join(', ')}.`);
      }
      if (staged.size > limits.maxImageBytes) throw new DomainError(ErrorCode.payloadTooLarge, `Images are limited to ${limits.maxImageBytes} bytes.`);
      const imageLimits: ImageLimits = { maxPixels: limits.maxImagePixels, maxBytes: limits.maxImageBytes };
      const signals = await hashImage(await readFile(staged.path), imageLimits, { sha256: staged.sha256 });
      return { kind: 'image', contentType: IMAGE_TYPES[format]!, width: signals.width, height: signals.height, signals };
    }
    const info = await probeVideo(staged.path);
    const contentType = videoType(info.formatName);
    if (!contentType) throw new DomainError(ErrorCode.unsupportedMedia, `Unsupported media: videos may be MP4, WebM, Matroska or Ogg, not ${info.formatName ?? 'this format'}.`);
    if (info.width * info.height > limits.maxVideoFramePixels) throw new DomainError(ErrorCode.tooManyPixels, `Video frames are limited to ${limits.maxVideoFramePixels} pixels; this one has ${info.width}×${info.height}.`);
    if (info.durationSeconds !== null && info.durationSeconds > limits.maxVideoSeconds) throw new DomainError(ErrorCode.badRequest, `Videos are limited to ${limits.maxVideoSeconds} s; this one is ${Math.round(info.durationSeconds)} s.`);
    const exact = await exactHashesOfFile(staged.path);
    return { kind: 'video', contentType, width: info.width, height: info.height, signals: { md5: exact.md5, sha256: exact.sha256 } };
  } catch (error) {
    throw mediaError(error);
  }
}
