/**
 * PDQ's Jarosz filters and 64×64 decimation, run in WebAssembly (jarosz.wasm, built from
 * ../assembly/jarosz.ts, which cites the reference it follows): the filters are four passes of float32
 * running sums over the whole luminance plane, the bulk of hashing, and in JavaScript every float32 step
 * costs two conversions through a double. The output is the reference's bit for bit (test/pdq.test.ts
 * against Meta's hashes, test/pdqWasm.test.ts against the source).
 *
 * Linear memory holds one job at a time: hashing is synchronous, so callers fill the luminance plane
 * (`lumaPlane`) and decimate it before their next await.
 */
import { readFileSync } from 'node:fs';

interface JaroszExports {
  memory: WebAssembly.Memory;
  luma(pixels: number, count: number, channels: number, out: number): void;
  jaroszDecimate(luma: number, plane: number, rows: number, cols: number, scratch: number, out: number): void;
  dct64To16(a: number, d: number, t: number, out: number): void;
  quality(b: number): number;
}

const wasm = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(new URL('./jarosz.wasm', import.meta.url))), {}).exports as unknown as JaroszExports;

/**
 * Layout: the 64×64 plane, the DCT basis, its scratch and its output, then the luminance plane, a second
 * plane of scratch (which first holds the pixels the luminance is computed from) and a line of scratch.
 */
const OUT = 65_536; // above anything the module keeps in low memory (it has no data or stack)
const DCT_BASIS = OUT + 64 * 64 * 4;
const DCT_SCRATCH = DCT_BASIS + 16 * 64 * 4;
const DCT_OUT = DCT_SCRATCH + 16 * 64 * 4;
const LUMA = DCT_OUT + 16 * 16 * 4;
const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16;

let lumaView = new Float32Array(0);

/** The 16×64 DCT-II basis (rows 1..16), float32 as the reference stores it (pdqhashing.cpp). */
function writeDctBasis(): void {
  const m = new Float32Array(wasm.memory.buffer, DCT_BASIS, 16 * 64);
  const scale = Math.fround(Math.sqrt(2 / 64));
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) m[i * 64 + j] = scale * Math.cos((Math.PI / 2 / 64) * (i + 1) * (2 * j + 1));
  }
}

/** Grows linear memory (keeping its contents) to `end` bytes. */
function reserve(end: number): void {
  const memory = wasm.memory;
  if (memory.buffer.byteLength < end) memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65_536));
}

/** Luminance of interleaved 8-bit pixels (1–4 channels), as the reference computes it, into `lumaPlane`. */
export function lumaOf(pixels: Uint8Array, width: number, height: number, channels: number): Float32Array {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 0 && height >= 0)) throw new RangeError(`image dimensions must be non-negative integers, not ${width}×${height}`);
  if (![1, 2, 3, 4].includes(channels)) throw new RangeError(`channels must be 1–4, not ${channels}`);
  const count = width * height;
  if (pixels.length < count * channels) throw new RangeError(`pixel buffer holds ${pixels.length} bytes, ${width}×${height}×${channels} needs ${count * channels}`);
  const plane = LUMA + align16(count * 4);
  reserve(plane + align16(count * 4));
  new Uint8Array(wasm.memory.buffer, plane, count * channels).set(pixels.subarray(0, count * channels));
  wasm.luma(plane, count, channels, LUMA);
  return lumaPlane(count);
}

/**
 * Luminance of the rectangle `region` of a one-channel (grey) frame `width` pixels wide, into `lumaPlane`:
 * a video frame without its bars, copied row by row into linear memory instead of cut out first.
 */
export function lumaOfGreyRegion(grey: Uint8Array, width: number, region: { x: number; y: number; width: number; height: number }): Float32Array {
  const { x, y, width: w, height: h } = region;
  if (!(Number.isInteger(x) && Number.isInteger(y) && Number.isInteger(w) && Number.isInteger(h) && x >= 0 && y >= 0 && w >= 0 && h >= 0 && x + w <= width && (y + h) * width <= grey.length)) {
    throw new RangeError(`region ${w}×${h}+${x}+${y} is not inside the ${width}-pixel-wide frame`);
  }
  const count = w * h;
  const plane = LUMA + align16(count * 4);
  reserve(plane + align16(count * 4));
  const pixels = new Uint8Array(wasm.memory.buffer, plane, count);
  for (let row = 0; row < h; row++) pixels.set(grey.subarray((y + row) * width + x, (y + row) * width + x + w), row * w);
  wasm.luma(plane, count, 1, LUMA);
  return lumaPlane(count);
}

/**
 * The luminance plane in linear memory, `values` long (valid until the next call here). Writing the
 * plane there directly saves copying it in.
 */
export function lumaPlane(values: number): Float32Array {
  reserve(LUMA + values * 4);
  if (lumaView.buffer !== wasm.memory.buffer || lumaView.length < values) lumaView = new Float32Array(wasm.memory.buffer, LUMA, (wasm.memory.buffer.byteLength - LUMA) >> 2);
  return lumaView.subarray(0, values);
}

/**
 * jaroszFilterFloat (two rounds, windows ⌈dimension / 128⌉) then decimateFloat to 64×64: the returned
 * view is valid until the next call. `luma` (rows×cols) is copied in unless it is already `lumaPlane`.
 */
export function jaroszDecimate(luma: Float32Array, rows: number, cols: number): Float32Array {
  const values = rows * cols;
  const inPlace = luma.buffer === wasm.memory.buffer && luma.byteOffset === LUMA;
  if (!inPlace) lumaPlane(values).set(luma.subarray(0, values));
  const plane = LUMA + align16(values * 4);
  const scratch = plane + align16(values * 4);
  reserve(scratch + Math.max(rows, cols) * 4);
  wasm.jaroszDecimate(LUMA, plane, rows, cols, scratch, OUT);
  return new Float32Array(wasm.memory.buffer, OUT, 64 * 64);
}

/** The 64×64 plane in linear memory: `plane` copied there unless it is the view jaroszDecimate returned. */
function place64(plane: Float32Array): void {
  if (plane.buffer !== wasm.memory.buffer || plane.byteOffset !== OUT) new Float32Array(wasm.memory.buffer, OUT, 64 * 64).set(plane.subarray(0, 64 * 64));
}

/** dct64To16: the 16×16 low frequencies of the 64×64 plane (DC row and column skipped), a new array. */
export function dct64To16(plane: Float32Array): Float32Array {
  place64(plane);
  wasm.dct64To16(OUT, DCT_BASIS, DCT_SCRATCH, DCT_OUT);
  return new Float32Array(wasm.memory.buffer, DCT_OUT, 256).slice();
}

/** pdqImageDomainQualityMetric of the 64×64 plane: 0–100. */
export function imageDomainQuality(plane: Float32Array): number {
  place64(plane);
  return wasm.quality(OUT);
}

reserve(LUMA);
writeDctBasis();
