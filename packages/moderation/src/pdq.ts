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
 * + − × ÷ because 53 ≥ 2·24 + 2), so hashes match the reference bit for bit on identical pixels.
 */
import { PdqHash } from './pdqHash.ts';

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

/** The 16×64 DCT-II basis (rows 1..16), float32 as the reference stores it. */
const DCT_MATRIX = (() => {
  const m = new Float32Array(16 * 64);
  const scale = f32(Math.sqrt(2 / 64));
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) m[i * 64 + j] = scale * Math.cos((Math.PI / 2 / 64) * (i + 1) * (2 * j + 1));
  }
  return m;
})();

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
      for (; i < end; i++, p += channels) luma[i] = f32(f32(f32(LUMA_R * pixels[p]!) + f32(LUMA_G * pixels[p + 1]!)) + f32(LUMA_B * pixels[p + 2]!));
    }
  }
  return luma;
}

/** PDQ hash and quality of an RGB image (interleaved 8-bit, no pre-resize: see image.ts for that). */
export function pdqFromRgb(rgb: Uint8Array, width: number, height: number): PdqResult {
  return pdqFromLuma(lumaFromPixels(rgb, width, height, 3), width, height);
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
  return pdqDihedralFromLuma(lumaFromPixels(rgb, width, height, 3), width, height);
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
  const buffer64 = new Float32Array(64 * 64);
  if (width === 64 && height === 64) buffer64.set(luma.subarray(0, 64 * 64));
  else jaroszDecimate(luma, height, width, buffer64);
  return { quality: imageDomainQuality(buffer64), dct: dct64To16(buffer64) };
}

/** Window per pass: half of (old/new), rounded up, since two passes are made (downscaling.cpp). */
export function jaroszWindow(oldDimension: number, newDimension: number): number {
  return Math.floor((oldDimension + 2 * newDimension - 1) / (2 * newDimension));
}

/*
 * Means are taken as sum · (1/size) rather than sum / size: for a float32 sum and an integer size
 * below 2^20, the double product rounds to the same float32 as the reference's float division (the exact
 * quotient is at least 2^-25/size away, relatively, from a float32 rounding midpoint, far beyond the
 * product's 2^-52 error; a quotient is never exactly a midpoint). A multiply is several times cheaper.
 */

/** Scratch planes reused between calls (hashing is synchronous: no two calls use them at once). */
let planeScratch = new Float32Array(0);
let narrowScratch = new Float32Array(0);
let sumsScratch = new Float32Array(0);

/**
 * The reference's two rounds of Jarosz filters (rows then columns, twice: jaroszFilterFloat) followed by
 * decimation to 64×64 — computing only what the decimation reads. Every running sum goes through the
 * reference's float32 steps in the reference's order, so the sampled values are identical; what is
 * skipped is work whose results the reference throws away: in the second round, the row filter's outputs
 * outside the 64 sampled columns, and the column filter outside those columns.
 */
function jaroszDecimate(luma: Float32Array, rows: number, cols: number, out: Float32Array): void {
  const windowAlongRows = jaroszWindow(cols, 64);
  const windowAlongCols = jaroszWindow(rows, 64);
  if (planeScratch.length < rows * cols) planeScratch = new Float32Array(rows * cols);
  if (narrowScratch.length < rows * 128) narrowScratch = new Float32Array(rows * 128);
  // the 64 sampled columns, distinct (an image narrower than 64 samples some twice) and where each went
  const sampled: number[] = [];
  const sampledAt = new Int32Array(64);
  for (let oj = 0; oj < 64; oj++) {
    const ij = Math.trunc(((oj + 0.5) * cols) / 64);
    if (sampled.at(-1) !== ij) sampled.push(ij);
    sampledAt[oj] = sampled.length - 1;
  }
  const kept = sampled.length;
  // round 1, whole plane: luma → rows → scratch → columns → luma
  boxRows(luma, planeScratch, rows, cols, windowAlongRows, null);
  boxColumns(planeScratch, luma, rows, cols, windowAlongCols);
  // round 2: rows, keeping the sampled columns (a rows × kept plane), then down those columns
  const narrow = narrowScratch.subarray(0, rows * kept);
  const narrowOut = narrowScratch.subarray(rows * 64, rows * 64 + rows * kept);
  boxRows(luma, narrow, rows, cols, windowAlongRows, Int32Array.from(sampled));
  boxColumns(narrow, narrowOut, rows, kept, windowAlongCols);
  for (let oi = 0; oi < 64; oi++) {
    const row = Math.trunc(((oi + 0.5) * rows) / 64) * kept;
    for (let oj = 0; oj < 64; oj++) out[oi * 64 + oj] = narrowOut[row + sampledAt[oj]!]!;
  }
}

/**
 * box1DFloat along every row. Each row's running sum is a chain of dependent float32 additions, so rows
 * run four at a time: interleaved chains keep the CPU busy while each waits on its last addition. With
 * `keep`, only those columns are written, to a rows × keep.length plane.
 */
function boxRows(input: Float32Array, output: Float32Array, rows: number, cols: number, fullWindow: number, keep: Int32Array | null): void {
  const halfWindow = Math.floor((fullWindow + 2) / 2);
  const phase1 = halfWindow - 1; // sums before the first output
  // output column k is written once the window's right edge is at k + phase1; the full window (size
  // fullWindow) is reached at right edge fullWindow − 1, after which the left edge leaves too
  const outCols = keep ? keep.length : cols;
  const slot = new Int32Array(cols).fill(-1); // where column k's output goes, -1 when not kept
  if (keep) for (let o = 0; o < keep.length; o++) slot[keep[o]!] = o;
  else for (let k = 0; k < cols; k++) slot[k] = k;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const b0 = r * cols;
    const b1 = b0 + cols;
    const b2 = b1 + cols;
    const b3 = b2 + cols;
    const o0 = r * outCols;
    const o1 = o0 + outCols;
    const o2 = o1 + outCols;
    const o3 = o2 + outCols;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let size = 0;
    let ri = 0;
    let li = 0;
    let k = 0;
    let inv = 0;
    for (; ri < phase1; ri++, size++) {
      s0 = f32(s0 + input[b0 + ri]!);
      s1 = f32(s1 + input[b1 + ri]!);
      s2 = f32(s2 + input[b2 + ri]!);
      s3 = f32(s3 + input[b3 + ri]!);
    }
    for (; ri < fullWindow; ri++, k++) {
      size++;
      inv = 1 / size;
      s0 = f32(s0 + input[b0 + ri]!);
      s1 = f32(s1 + input[b1 + ri]!);
      s2 = f32(s2 + input[b2 + ri]!);
      s3 = f32(s3 + input[b3 + ri]!);
      const o = slot[k]!;
      if (o >= 0) {
        output[o0 + o] = s0 * inv;
        output[o1 + o] = s1 * inv;
        output[o2 + o] = s2 * inv;
        output[o3 + o] = s3 * inv;
      }
    }
    for (; ri < cols; ri++, li++, k++) {
      s0 = f32(f32(s0 + input[b0 + ri]!) - input[b0 + li]!);
      s1 = f32(f32(s1 + input[b1 + ri]!) - input[b1 + li]!);
      s2 = f32(f32(s2 + input[b2 + ri]!) - input[b2 + li]!);
      s3 = f32(f32(s3 + input[b3 + ri]!) - input[b3 + li]!);
      const o = slot[k]!;
      if (o >= 0) {
        output[o0 + o] = s0 * inv;
        output[o1 + o] = s1 * inv;
        output[o2 + o] = s2 * inv;
        output[o3 + o] = s3 * inv;
      }
    }
    for (; k < cols; li++, k++) {
      size--;
      inv = 1 / size;
      s0 = f32(s0 - input[b0 + li]!);
      s1 = f32(s1 - input[b1 + li]!);
      s2 = f32(s2 - input[b2 + li]!);
      s3 = f32(s3 - input[b3 + li]!);
      const o = slot[k]!;
      if (o >= 0) {
        output[o0 + o] = s0 * inv;
        output[o1 + o] = s1 * inv;
        output[o2 + o] = s2 * inv;
        output[o3 + o] = s3 * inv;
      }
    }
  }
  for (; r < rows; r++) box1d(input, output, r * cols, r * outCols, cols, fullWindow, slot);
}

/** box1DFloat along one row (the rows boxRows does not take four at a time). */
function box1d(input: Float32Array, output: Float32Array, start: number, outStart: number, cols: number, fullWindow: number, slot: Int32Array): void {
  const halfWindow = Math.floor((fullWindow + 2) / 2);
  const phase1 = halfWindow - 1;
  let sum = 0;
  let size = 0;
  let ri = 0;
  let li = 0;
  let k = 0;
  let inv = 0;
  for (; ri < phase1; ri++, size++) sum = f32(sum + input[start + ri]!);
  for (; ri < fullWindow; ri++, k++) {
    size++;
    inv = 1 / size;
    sum = f32(sum + input[start + ri]!);
    if (slot[k]! >= 0) output[outStart + slot[k]!] = sum * inv;
  }
  for (; ri < cols; ri++, li++, k++) {
    sum = f32(f32(sum + input[start + ri]!) - input[start + li]!);
    if (slot[k]! >= 0) output[outStart + slot[k]!] = sum * inv;
  }
  for (; k < cols; li++, k++) {
    size--;
    inv = 1 / size;
    sum = f32(sum - input[start + li]!);
    if (slot[k]! >= 0) output[outStart + slot[k]!] = sum * inv;
  }
}

/**
 * box1DFloat down every column at once, row by row: each column's running sum goes through exactly the
 * float32 steps of the reference (so the values are identical), but memory is read in row order instead
 * of one cache line per pixel, and the columns' independent chains overlap.
 */
function boxColumns(input: Float32Array, output: Float32Array, rows: number, cols: number, fullWindow: number): void {
  const halfWindow = Math.floor((fullWindow + 2) / 2);
  const phase1 = halfWindow - 1;
  const phase2 = fullWindow - halfWindow + 1;
  const phase3 = rows - fullWindow;
  const phase4 = halfWindow - 1;
  if (sumsScratch.length < cols) sumsScratch = new Float32Array(cols);
  const sums = sumsScratch.subarray(0, cols);
  sums.fill(0);
  let ri = 0;
  let li = 0;
  let oi = 0;
  let size = 0;
  let inv = 0;
  // each step rounded to float32 as the reference's `float` sum is (storing into sums rounds)
  for (let i = 0; i < phase1; i++, ri += cols, size++) for (let j = 0; j < cols; j++) sums[j] = sums[j]! + input[ri + j]!;
  for (let i = 0; i < phase2; i++, ri += cols, oi += cols) {
    size++;
    inv = 1 / size;
    for (let j = 0; j < cols; j++) {
      const sum = f32(sums[j]! + input[ri + j]!);
      sums[j] = sum;
      output[oi + j] = sum * inv;
    }
  }
  for (let i = 0; i < phase3; i++, ri += cols, li += cols, oi += cols) {
    for (let j = 0; j < cols; j++) {
      const sum = f32(f32(sums[j]! + input[ri + j]!) - input[li + j]!);
      sums[j] = sum;
      output[oi + j] = sum * inv;
    }
  }
  for (let i = 0; i < phase4; i++, li += cols, oi += cols) {
    size--;
    inv = 1 / size;
    for (let j = 0; j < cols; j++) {
      const sum = f32(sums[j]! - input[li + j]!);
      sums[j] = sum;
      output[oi + j] = sum * inv;
    }
  }
}

/** Sum of quantised gradients of the 64×64 image, scaled to 0–100 (pdqImageDomainQualityMetric). */
function imageDomainQuality(b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < 63; i++) {
    for (let j = 0; j < 64; j++) sum += Math.abs(Math.trunc(f32(f32(f32(b[i * 64 + j]! - b[(i + 1) * 64 + j]!) * 100) / 255)));
  }
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 63; j++) sum += Math.abs(Math.trunc(f32(f32(f32(b[i * 64 + j]! - b[i * 64 + j + 1]!) * 100) / 255)));
  }
  return Math.min(100, Math.trunc(sum / 90));
}

/**
 * B = D·A·Dᵀ with D the 16×64 basis: the 16×16 low frequencies, skipping the DC row and column. Each
 * output is summed over k in ascending order, one float32 step at a time, as the reference's loops do;
 * the loops run k outside j so that an inner loop advances many independent sums, not one long chain.
 */
function dct64To16(a: Float32Array): Float32Array {
  const d = DCT_MATRIX;
  const t = new Float32Array(16 * 64); // storing into it rounds each step to float32
  for (let i = 0; i < 16; i++) {
    const ti = i * 64;
    for (let k = 0; k < 64; k++) {
      const dik = d[ti + k]!;
      const ak = k * 64;
      for (let j = 0; j < 64; j++) t[ti + j] = t[ti + j]! + f32(dik * a[ak + j]!);
    }
  }
  const b = new Float32Array(256);
  for (let i = 0; i < 16; i++) {
    for (let k = 0; k < 64; k++) {
      const tik = t[i * 64 + k]!;
      for (let j = 0; j < 16; j++) b[i * 16 + j] = b[i * 16 + j]! + f32(tik * DCT_MATRIX_T[k * 16 + j]!);
    }
  }
  return b;
}

/** The basis transposed (64×16), so the second product reads it in order. */
const DCT_MATRIX_T = (() => {
  const m = new Float32Array(64 * 16);
  for (let j = 0; j < 16; j++) for (let k = 0; k < 64; k++) m[k * 16 + j] = DCT_MATRIX[j * 64 + k]!;
  return m;
})();

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
