/**
 * Image hasher: decodes with sharp (libvips) and prepares pixels the way Meta's reference
 * `pdq-photo-hasher` does before hashing (pdq/cpp/io/pdqio.cpp):
 *   - EXIF orientation is ignored (the reference's CImg loader does not rotate), so no `.rotate()`;
 *   - no colour management (CImg does none), so embedded ICC profiles are ignored;
 *   - an image larger than 512 px on either side is resized to exactly 512×512, aspect ratio not kept,
 *     with CImg's default resize (nearest neighbour: output x reads input ⌊x·W/512⌋).
 * Bad input (empty, truncated, not an image, unsupported, decompression bombs) becomes a ContentError.
 */
import { readFile, stat } from 'node:fs/promises';
import sharp, { type Sharp } from 'sharp';
import { ContentError } from './errors.ts';
import { lumaOf, lumaPlane } from './pdqWasm.ts';
import { LUMA_TABLE_B, LUMA_TABLE_G, LUMA_TABLE_R, lumaFromPixels, pdqDihedralFromLuma, pdqFromLuma, type PdqDihedralResult, type PdqResult } from './pdq.ts';

const f32 = Math.fround;

export const REFERENCE_DOWNSAMPLE_DIMS = 512;
/** Formats we hash. SVG and PDF are refused: they are programs to render, not pixels. */
export const IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif', 'jp2'] as const;

export interface ImageLimits {
  /** Decompression-bomb guard: refuse images with more pixels than this (default 100 M). */
  maxPixels?: number;
  /** Largest file read into memory (default 256 MiB). */
  maxBytes?: number;
  /** libvips work limit per image (default 30 s). */
  timeoutSeconds?: number;
}

export interface DecodedImage {
  pixels: Uint8Array;
  width: number;
  height: number;
  channels: number;
  format: string;
}

const DEFAULT_MAX_PIXELS = 100_000_000;
const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

/** Reads a file (or takes bytes) with the size checks every hasher shares. */
export async function readContent(input: string | Uint8Array, maxBytes = DEFAULT_MAX_BYTES): Promise<Uint8Array> {
  if (typeof input !== 'string') {
    if (input.length === 0) throw new ContentError('empty_file', 'The content is empty (0 bytes).');
    return input;
  }
  await checkFile(input, maxBytes);
  return readFile(input);
}

/** The checks every hasher makes on a path before reading it: exists, a regular file, not empty, not huge. */
export async function checkFile(path: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<number> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new ContentError('unsupported_format', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`, { cause: error });
  }
  if (!info.isFile()) throw new ContentError('unsupported_format', `${path} is not a regular file.`);
  if (info.size === 0) throw new ContentError('empty_file', `${path} is empty (0 bytes).`);
  if (info.size > maxBytes) throw new ContentError('too_many_pixels', `${path} is ${info.size} bytes, over the ${maxBytes}-byte limit.`);
  return info.size;
}

/** Decodes to interleaved 8-bit pixels: 1 channel for greyscale input, else RGB (alpha dropped). */
export async function decodeImage(input: string | Uint8Array, limits: ImageLimits = {}): Promise<DecodedImage> {
  return (await decode(input, limits, false)).image;
}

/**
 * The pixels the reference hashes: decodeImage, then referenceResize when a side exceeds 512 px — but
 * done by libvips while it decodes (an affine map with nearest-neighbour sampling, which picks the very
 * pixels referenceResize picks: test/pdq.test.ts), so a large image is never copied out whole. Returns
 * the image at that size and the original's dimensions.
 */
export async function decodeReferenceSize(input: string | Uint8Array, limits: ImageLimits = {}): Promise<{ image: DecodedImage; width: number; height: number }> {
  return decode(input, limits, true);
}

/**
 * Files at least this large are likely over 512 px on a side: their header is read first so libvips can
 * resample while decoding. Smaller ones are decoded straight away (one libvips call fewer) and, should
 * one be larger than 512 px after all, resized in JavaScript to the same pixels.
 */
const HEADER_FIRST_BYTES = 48 * 1024;

/**
 * Input coordinate x·W/512 is computed by libvips from the inverse of the scale it is given, which can
 * land a hair below an integer (e.g. W = 1488, x = 32 gives 92.99999…, sampling column 92, not 93):
 * scaling down by one part in 10⁹ more keeps every coordinate just above its exact value and below the
 * next pixel (x·W/512 is a multiple of 1/512, and W·10⁻⁹ ≪ 1/512 for any W below 10⁶).
 */
const AFFINE_NUDGE = 1 - 1e-9;

async function decode(input: string | Uint8Array, limits: ImageLimits, referenceSize: boolean): Promise<{ image: DecodedImage; width: number; height: number }> {
  const bytes = await readContent(input, limits.maxBytes);
  const name = typeof input === 'string' ? input : 'the image';
  const maxPixels = limits.maxPixels ?? DEFAULT_MAX_PIXELS;
  const open = (limitInputPixels: number | false) =>
    sharp(bytes, { limitInputPixels, failOn: 'truncated', autoOrient: false, ignoreIcc: true, sequentialRead: true, animated: false });
  // JPEG and PNG (most uploads) are known from their signature, which is what libvips picks its loader
  // by; the limit on the decode below refuses bombs. Anything else is identified from its header first.
  let format = sniffFormat(bytes);
  let header: Header | undefined;
  if (!format || (referenceSize && bytes.length >= HEADER_FIRST_BYTES)) {
    try {
      header = await readHeader(open(false), name, maxPixels);
      format = header.format;
    } catch (error) {
      throw classify(error, name);
    }
  }
  if (!(IMAGE_FORMATS as readonly string[]).includes(format!)) {
    throw new ContentError('unsupported_format', `${name} is ${format}; supported image formats are ${IMAGE_FORMATS.join(', ')}.`);
  }
  const size = REFERENCE_DOWNSAMPLE_DIMS;
  const resample = referenceSize && header !== undefined && (header.width > size || header.height > size);
  try {
    let pipeline = open(maxPixels).removeAlpha();
    if (resample) pipeline = pipeline.affine([(size / header!.width) * AFFINE_NUDGE, 0, 0, (size / header!.height) * AFFINE_NUDGE], { interpolator: 'nearest' });
    const { data, info } = await pipeline
      .timeout({ seconds: limits.timeoutSeconds ?? 30 })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const image = { pixels: data, width: info.width, height: info.height, channels: info.channels, format: format! };
    if (resample && info.width === size && info.height === size) return { image, width: header!.width, height: header!.height };
    // a header whose size is not the decoded one's (a multi-page file, say) is decoded again, whole
    if (resample) return decode(bytes, limits, false).then(({ image }) => ({ image: referenceResize(image), width: image.width, height: image.height }));
    return { image: referenceSize ? referenceResize(image) : image, width: image.width, height: image.height };
  } catch (error) {
    // the pixel limit refused it: say how large it is (the header alone: nothing is decoded)
    const refused = classify(error, name);
    if (refused.code === 'too_many_pixels') {
      try {
        await readHeader(open(false), name, maxPixels);
      } catch (sized) {
        throw classify(sized, name);
      }
    }
    throw refused;
  }
}

interface Header {
  format: string;
  width: number;
  height: number;
}

/** The format and size from the header, refusing images over the pixel limit with their size in the message. */
async function readHeader(image: Sharp, name: string, maxPixels: number): Promise<Header> {
  const meta = await image.metadata();
  if (meta.width && meta.height && meta.width * meta.height > maxPixels) {
    throw new ContentError('too_many_pixels', `${name} is ${meta.width}×${meta.height} pixels, over the ${maxPixels}-pixel limit (decompression-bomb guard).`);
  }
  return { format: meta.format ?? 'unknown', width: meta.width ?? 0, height: meta.height ?? 0 };
}

/** 'jpeg' or 'png' from the file signature (the magic numbers libvips's loaders test), else undefined. */
function sniffFormat(bytes: Uint8Array): string | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47 && bytes[4] === 0x0d && bytes[5] === 0x0a && bytes[6] === 0x1a && bytes[7] === 0x0a) return 'png';
  return undefined;
}

function classify(error: unknown, name: string): ContentError {
  if (error instanceof ContentError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(message)) return new ContentError('too_many_pixels', `${name} exceeds the pixel limit (decompression-bomb guard): ${message}`, { cause: error });
  if (/unsupported image format|bad seek|not a known/i.test(message)) return new ContentError('unsupported_format', `${name} is not an image in a supported format.`, { cause: error });
  if (/timeout/i.test(message)) return new ContentError('timeout', `${name} took too long to decode.`, { cause: error });
  return new ContentError('corrupt_content', `${name} could not be decoded (truncated or corrupt): ${message.split('\n')[0]}`, { cause: error });
}

/** CImg's default resize (nearest neighbour) to 512×512 when either side exceeds 512, as the reference. */
export function referenceResize(image: DecodedImage): DecodedImage {
  const { width, height, channels, pixels } = image;
  const size = REFERENCE_DOWNSAMPLE_DIMS;
  if (width <= size && height <= size) return image;
  const out = new Uint8Array(size * size * channels);
  const xs = new Int32Array(size);
  for (let x = 0; x < size; x++) xs[x] = Math.floor((x * width) / size);
  for (let y = 0; y < size; y++) {
    const row = Math.floor((y * height) / size) * width;
    for (let x = 0; x < size; x++) {
      const from = (row + xs[x]!) * channels;
      const to = (y * size + x) * channels;
      for (let c = 0; c < channels; c++) out[to + c] = pixels[from + c]!;
    }
  }
  return { ...image, pixels: out, width: size, height: size };
}

/**
 * referenceResize then lumaFromPixels in one pass: the luminance of the (pre-resized) image without the
 * intermediate pixel buffer. Identical values: the same source pixel, the same float32 weights.
 */
export function referenceLuma(image: DecodedImage, into?: Float32Array): { luma: Float32Array; width: number; height: number } {
  const { width, height, channels, pixels } = image;
  const size = REFERENCE_DOWNSAMPLE_DIMS;
  if (width <= size && height <= size) return { luma: lumaFromPixels(pixels, width, height, channels, into), width, height };
  if (![1, 2, 3, 4].includes(channels)) throw new RangeError(`channels must be 1–4, not ${channels}`);
  if (into && into.length < size * size) throw new RangeError(`luma buffer holds ${into.length} values, ${size * size} needed`);
  const luma = into ? into.subarray(0, size * size) : new Float32Array(size * size);
  const xs = new Int32Array(size);
  for (let x = 0; x < size; x++) xs[x] = Math.floor((x * width) / size) * channels;
  for (let y = 0; y < size; y++) {
    const row = Math.floor((y * height) / size) * width * channels;
    const out = y * size;
    if (channels <= 2) for (let x = 0; x < size; x++) luma[out + x] = pixels[row + xs[x]!]!;
    else {
      for (let x = 0; x < size; x++) {
        const p = row + xs[x]!;
        luma[out + x] = f32(LUMA_TABLE_R[pixels[p]!]! + LUMA_TABLE_G[pixels[p + 1]!]!) + LUMA_TABLE_B[pixels[p + 2]!]!;
      }
    }
  }
  return { luma, width: size, height: size };
}

export interface ImagePdq extends PdqResult {
  width: number;
  height: number;
  format: string;
}

/**
 * referenceLuma written straight into the hasher's WebAssembly memory (pdqWasm.ts), where the filters
 * read it: no plane allocated or copied per image. Hash the result before the next await.
 */
export function referenceLumaShared(image: DecodedImage): { luma: Float32Array; width: number; height: number } {
  const { width, height, channels, pixels } = image;
  const size = REFERENCE_DOWNSAMPLE_DIMS;
  if (width > size || height > size) return referenceLuma(image, lumaPlane(size * size));
  return { luma: lumaOf(pixels, width, height, channels), width, height };
}

/** PDQ of an image file or its bytes, as the reference pdq-photo-hasher computes it. */
export async function pdqHashImage(input: string | Uint8Array, limits?: ImageLimits): Promise<ImagePdq> {
  const { image, width, height } = await decodeReferenceSize(input, limits);
  const small = referenceLumaShared(image);
  const result = pdqFromLuma(small.luma, small.width, small.height);
  return { ...result, width, height, format: image.format };
}

/** All eight dihedral PDQ hashes of an image (to match rotated or mirrored uploads). */
export async function pdqDihedralHashImage(input: string | Uint8Array, limits?: ImageLimits): Promise<PdqDihedralResult> {
  const small = referenceLumaShared((await decodeReferenceSize(input, limits)).image);
  return pdqDihedralFromLuma(small.luma, small.width, small.height);
}
