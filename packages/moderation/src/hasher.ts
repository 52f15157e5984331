/**
 * The hasher role of Hasher-Matcher-Actioner: content in, signals out. It knows file formats, not banks,
 * channels or users. Images get PDQ (+ quality), videos vPDQ, everything MD5 and SHA-256.
 */
import sharp from 'sharp';
import { ContentError } from './errors.ts';
import { exactHashesOfFile } from './exact.ts';
import { IMAGE_FORMATS, checkFile, pdqDihedralHashImage, pdqHashImage, type ImageLimits } from './image.ts';
import type { Dihedral } from './pdq.ts';
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
  /** images, with `dihedral: true`: the hashes of all eight rotations and flips */
  pdqVariants?: Record<Dihedral, PdqHash>;
  quality?: number;
  width?: number;
  height?: number;
  /** videos: one feature per sampled frame, and the crop that removed letterbox bars */
  vpdq?: VpdqFeature[];
  crop?: Crop;
}

export interface HashOptions {
  image?: ImageLimits;
  /** also compute the eight dihedral PDQ hashes of images (to match rotated or mirrored copies) */
  dihedral?: boolean;
  video?: VideoOptions;
}

/** The image format sharp reads from the header, or undefined for anything that is not an image to it. */
async function imageFormat(path: string): Promise<string | undefined> {
  try {
    return (await sharp(path, { limitInputPixels: false }).metadata()).format;
  } catch {
    return undefined;
  }
}

/** Hashes a file: PDQ for images, vPDQ for videos, MD5 and SHA-256 for both. Bad input → ContentError. */
export async function hashFile(path: string, options: HashOptions = {}): Promise<ContentSignals> {
  await checkFile(path);
  const exact = await exactHashesOfFile(path);
  const format = await imageFormat(path);
  if (format && !(IMAGE_FORMATS as readonly string[]).includes(format)) {
    throw new ContentError('unsupported_format', `${path} is ${format}; supported image formats are ${IMAGE_FORMATS.join(', ')}.`);
  }
  if (format) {
    const image = await pdqHashImage(path, options.image);
    const variants = options.dihedral ? (await pdqDihedralHashImage(path, options.image)).hashes : undefined;
    return { kind: 'image', ...exact, pdq: image.hash, ...(variants && { pdqVariants: variants }), quality: image.quality, width: image.width, height: image.height };
  }
  const video = await vpdqHashVideo(path, options.video).catch((error: unknown) => {
    if (error instanceof ContentError && error.code === 'unsupported_format') {
      throw new ContentError('unsupported_format', `${path} is neither an image (${IMAGE_FORMATS.join(', ')}) nor a video ffmpeg can read.`, { cause: error });
    }
    throw error;
  });
  return { kind: 'video', ...exact, vpdq: video.features, crop: video.crop, width: video.info.width, height: video.info.height };
}
