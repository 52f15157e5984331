/**
 * PDQ: Meta's 256-bit perceptual image hash with its quality score.
 *
 * Spec: "The TMK+PDQF video-hashing and PDQ image-hashing algorithms" (Meta, 2017, pdqhash-2017-10-09.pdf)
 * and the reference C++ implementation it describes, facebook/ThreatExchange `pdq/cpp`
 * (hashing/pdqhashing.cpp, downscaling/downscaling.cpp, hashing/torben.cpp). Steps:
 *   RGB → luminance (Rec. 601 weights) → two passes of Jarosz box filters along rows and columns, window
 *   ⌈dimension / 128⌉ → decimate to 64×64 (sampling centres) → quality from the 64×64 gradients →
 *   2-D DCT keeping coefficients 1..16 × 1..16 → bit = coefficient > median (Torben's median).
 * The eight dihedral variants (rotations, flips) are derived from the 16×16 DCT by sign changes and a
 * transpose, as the reference does, without re-hashing pixels.
 *
 * Every arithmetic step is done in float32 exactly as the reference's `float` code does (each JS double
 * result is rounded with Math.fround or by storing into a Float32Array; double rounding is innocuous for
 * + − × ÷ because 53 ≥ 2·24 + 2), so hashes match the reference bit for bit on identical pixels. The
 * Jarosz filters, most of the work, run in WebAssembly's native float32 (pdqWasm.ts).
 */
import { PdqHash } from './pdqHash.ts';
import { dct64To16, imageDomainQuality, jaroszDecimate, lumaOf } from './pdqWasm.ts';

const f32 = Math.fround;

/** Images smaller than this on either side hash to all zeros with quality 0 (the reference's rule). */
export const MIN_HASHABLE_DIM = 5;
/** The reference's rule: hashes with quality below this are too featureless to act on automatically. */
export const PDQ_QUALITY_THRESHOLD = 50;
/** Meta's recommended match threshold for PDQ (Hamming distance, inclusive). */
export const PDQ_MATCH_THRESHOLD = 31;

export const LUMA_R = f32(0.299);
export const LUMA_G = f32(0.587);
export const LUMA_B = f32(0.114);

/**
 * The three weighted channels for every byte value, f32(weight · v) as the reference computes them: a
 * pixel's luminance is then two float32 additions of table entries, with the very same values.
 */
export const LUMA_TABLE_R = lumaTable(LUMA_R);
export const LUMA_TABLE_G = lumaTable(LUMA_G);
export const LUMA_TABLE_B = lumaTable(LUMA_B);
function lumaTable(weight: number): Float32Array {
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v++) table[v] = weight * v;
  return table;
}

export type Dihedral = 'original' | 'rot90' | 'rot180' | 'rot270' | 'flipx' | 'flipy' | 'flipplus1' | 'flipminus1';
export const DIHEDRALS: readonly Dihedral[] = ['original', 'rot90', 'rot180', 'rot270', 'flipx', 'flipy', 'flipplus1', 'flipminus1'];

export interface PdqResult {
  hash: PdqHash;
  /** 0–100; below PDQ_QUALITY_THRESHOLD the hash must not drive automatic action. */
  quality: number;
}

export interface PdqDihedralResult {
  quality: number;
  hashes: Record<Dihedral, PdqHash>;
}

/**
 * Luminance of interleaved 8-bit pixels with 1 (grey), 3 (RGB) or 4 (RGBA, alpha ignored) channels.
 * With `into` (at least width×height long) the plane is written there and a view of it returned:
 * callers hashing many frames reuse one buffer instead of allocating (and zeroing) a plane each time.
 */
export function lumaFromPixels(pixels: Uint8Array, width: number, height: number, channels: number, into?: Float32Array): Float32Array {
  return lumaFromRegion(pixels, width, height, channels, { x: 0, y: 0, width, height }, into);
}

/** lumaFromPixels of the rectangle `region` of a width×height image (e.g. a frame without its bars). */
export function lumaFromRegion(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: number,
  region: { x: number; y: number; width: number; height: number },
  into?: Float32Array,
): Float32Array {
  checkDims(width, height);
  checkDims(region.width, region.height);
  if (![1, 2, 3, 4].includes(channels)) throw new RangeError(`channels must be 1–4, not ${channels}`);
  if (pixels.length < width * height * channels) throw new RangeError(`pixel buffer holds ${pixels.length} bytes, ${width}×${height}×${channels} needs ${width * height * channels}`);
  if (!(Number.isInteger(region.x) && Number.isInteger(region.y) && region.x >= 0 && region.y >= 0 && region.x + region.width <= width && region.y + region.height <= height)) {
    throw new RangeError(`region ${region.width}×${region.height}+${region.x}+${region.y} is not inside ${width}×${height}`);
  }
  const n = region.width * region.height;
  if (into && into.length < n) throw new RangeError(`luma buffer holds ${into.length} values, ${n} needed`);
  const luma = into ? into.subarray(0, n) : new Float32Array(n);
  for (let y = 0, i = 0; y < region.height; y++) {
    let p = ((region.y + y) * width + region.x) * channels;
    const end = i + region.width;
    if (channels <= 2) {
      // The reference reads a one-channel image's value directly as luminance (no weights).
      for (; i < end; i++, p += channels) luma[i] = pixels[p]!;
    } else {
      for (; i < end; i++, p += channels) luma[i] = f32(LUMA_TABLE_R[pixels[p]!]! + LUMA_TABLE_G[pixels[p + 1]!]!) + LUMA_TABLE_B[pixels[p + 2]!]!;
    }
  }
  return luma;
}

/** PDQ hash and quality of an RGB image (interleaved 8-bit, no pre-resize: see image.ts for that). */
export function pdqFromRgb(rgb: Uint8Array, width: number, height: number): PdqResult {
  return pdqFromLuma(lumaOf(rgb, width, height, 3), width, height);
}

/** PDQ hash and quality of a luminance plane. The plane is used as scratch space and overwritten. */
export function pdqFromLuma(luma: Float32Array, width: number, height: number): PdqResult {
  const { quality, dct } = dct16FromLuma(luma, width, height);
  return { quality, hash: dct ? bitsFromDct(dct) : PdqHash.zero() };
}

/** All eight dihedral hashes (as the reference's pdqDihedralHash256esFromFloatLuma) from one pass over pixels. */
export function pdqDihedralFromLuma(luma: Float32Array, width: number, height: number): PdqDihedralResult {
  const { quality, dct } = dct16FromLuma(luma, width, height);
  const hashes = {} as Record<Dihedral, PdqHash>;
  for (const d of DIHEDRALS) hashes[d] = dct ? bitsFromDct(transformDct(dct, d)) : PdqHash.zero();
  return { quality, hashes };
}

export function pdqDihedralFromRgb(rgb: Uint8Array, width: number, height: number): PdqDihedralResult {
  return pdqDihedralFromLuma(lumaOf(rgb, width, height, 3), width, height);
}

function checkDims(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new RangeError(`image dimensions must be non-negative integers, not ${width}×${height}`);
  }
}

function dct16FromLuma(luma: Float32Array, width: number, height: number): { quality: number; dct: Float32Array | null } {
  checkDims(width, height);
  if (luma.length < width * height) throw new RangeError(`luma plane holds ${luma.length} values, ${width}×${height} needs ${width * height}`);
  if (width < MIN_HASHABLE_DIM || height < MIN_HASHABLE_DIM) return { quality: 0, dct: null };
  // a 64×64 plane is used as it is (the reference's shortcut); anything else is filtered and decimated
  const buffer64 = width === 64 && height === 64 ? luma.subarray(0, 64 * 64) : jaroszDecimate(luma, height, width);
  return { quality: imageDomainQuality(buffer64), dct: dct64To16(buffer64) };
}

/** Dihedral images as sign patterns and transposes of the DCT (the table in pdqhashing.cpp). */
export function transformDct(a: Float32Array, variant: Dihedral): Float32Array {
  const b = new Float32Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      const v = a[i * 16 + j]!;
      switch (variant) {
        case 'original': b[i * 16 + j] = v; break;
        case 'rot90': b[j * 16 + i] = j & 1 ? v : -v; break;
        case 'rot180': b[i * 16 + j] = (i + j) & 1 ? -v : v; break;
        case 'rot270': b[j * 16 + i] = i & 1 ? v : -v; break;
        case 'flipx': b[i * 16 + j] = i & 1 ? v : -v; break;
        case 'flipy': b[i * 16 + j] = j & 1 ? v : -v; break;
        case 'flipplus1': b[j * 16 + i] = v; break;
        case 'flipminus1': b[j * 16 + i] = (i + j) & 1 ? -v : v; break;
      }
    }
  }
  return b;
}

/** Bit k (= 16·row + column) is set when the coefficient exceeds the median. */
function bitsFromDct(dct: Float32Array): PdqHash {
  const median = torbenMedian(dct);
  const bits = new Uint8Array(32);
  for (let k = 0; k < 256; k++) if (dct[k]! > median) bits[31 - (k >> 3)]! |= 1 << (k & 7);
  return PdqHash.fromBytes(bits);
}

/** Torben Mogensen's median (public domain, N. Devillard's implementation), in float32 as the reference. */
export function torbenMedian(m: Float32Array): number {
  const n = m.length;
  let min = m[0]!;
  let max = m[0]!;
  for (let i = 1; i < n; i++) {
    if (m[i]! < min) min = m[i]!;
    if (m[i]! > max) max = m[i]!;
  }
  const half = Math.floor((n + 1) / 2);
  let less = 0;
  let greater = 0;
  let equal = 0;
  let guess = 0;
  let maxLtGuess = 0;
  let minGtGuess = 0;
  for (;;) {
    guess = f32(f32(min + max) / 2);
    less = 0;
    greater = 0;
    equal = 0;
    maxLtGuess = min;
    minGtGuess = max;
    for (let i = 0; i < n; i++) {
      const v = m[i]!;
      if (v < guess) {
        less++;
        if (v > maxLtGuess) maxLtGuess = v;
      } else if (v > guess) {
        greater++;
        if (v < minGtGuess) minGtGuess = v;
      } else {
        equal++;
      }
    }
    if (less <= half && greater <= half) break;
    if (less > greater) max = maxLtGuess;
    else min = minGtGuess;
  }
  if (less >= half) return maxLtGuess;
  if (less + equal >= half) return guess;
  return minGtGuess;
}
