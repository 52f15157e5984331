/**
 * The hasher role of Hasher-Matcher-Actioner: content in, signals out. It knows file formats, not banks,
 * channels or users. Images get PDQ (+ quality), videos vPDQ, everything MD5 and SHA-256.
 */
import sharp from 'sharp';
import { exactHashesOfFile } from './exact.ts';
import { IMAGE_FORMATS, checkFile, pdqHashImage, type ImageLimits } from './image.ts';
import type { PdqHash } from './pdqHash.ts';
import { vpdqHashVideo, type Crop, type VideoOptions } from './vpdq.ts';
import type { VpdqFeature } from './vpdqFormat.ts';

export interface ContentSignals {
  kind: 'image' | 'video';
  md5: string;
  sha256: string;
  bytes: number;
  /** images */
  pdq?: PdqHash;
  quality?: number;
  width?: number;
  height?: number;
  /** videos: one feature per sampled frame, and the crop that removed letterbox bars */
  vpdq?: VpdqFeature[];
  crop?: Crop;
}

export interface HashOptions {
  image?: ImageLimits;
  video?: VideoOptions;
}

/** Is this an image sharp can read (by its header), as opposed to a video or something else? */
async function looksLikeImage(path: string): Promise<boolean> {
  try {
    const meta = await sharp(path, { limitInputPixels: false }).metadata();
    return (IMAGE_FORMATS as readonly string[]).includes(meta.format ?? '');
  } catch {
    return false;
  }
}

/** Hashes a file: PDQ for images, vPDQ for videos, MD5 and SHA-256 for both. Bad input → ContentError. */
export async function hashFile(path: string, options: HashOptions = {}): Promise<ContentSignals> {
  await checkFile(path);
  const exact = await exactHashesOfFile(path);
  if (await looksLikeImage(path)) {
    const image = await pdqHashImage(path, options.image);
    return { kind: 'image', ...exact, pdq: image.hash, quality: image.quality, width: image.width, height: image.height };
  }
  const video = await vpdqHashVideo(path, options.video);
  return { kind: 'video', ...exact, vpdq: video.features, crop: video.crop, width: video.info.width, height: video.info.height };
}
