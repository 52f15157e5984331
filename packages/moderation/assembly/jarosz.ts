/**
 * PDQ's Jarosz filters and 64×64 decimation in WebAssembly (AssemblyScript source of src/jarosz.wasm;
 * rebuild with `npm run build:wasm -w @doublelock/moderation`, test/pdqWasm.test.ts checks the committed
 * binary is this source's build).
 *
 * Spec: facebook/ThreatExchange `pdq/cpp/downscaling/downscaling.cpp` — box1DFloat, jaroszFilterFloat (two
 * rounds of a box filter along rows then columns, window ⌈dimension / 128⌉) and decimateFloat. Every sum
 * is the reference's float32 sum in the reference's order and every mean the reference's float32 division
 * (WebAssembly's f32 add, sub and div are IEEE single precision, with no fused or reordered arithmetic), so
 * the output is bit for bit the reference's. Speed comes from doing eight rows' independent sums at once
 * and dividing four values per SIMD instruction, not from changing the arithmetic.
 *
 * Memory is laid out by the caller (src/pdqWasm.ts): every argument is a byte offset into linear memory.
 */

/** The window size box1DFloat divides by at each output position of a line of `length` values. */
function windowSizes(sizes: usize, length: i32, window: i32): void {
  const half = (window + 2) / 2;
  const phase2 = window - half + 1;
  const phase3 = length - window;
  let k = 0;
  for (let i = 0; i < phase2; i++, k++) store<f32>(sizes + (<usize>k << 2), <f32>(half + i));
  for (let i = 0; i < phase3; i++, k++) store<f32>(sizes + (<usize>k << 2), <f32>window);
  for (let size = window - 1; k < length; k++, size--) store<f32>(sizes + (<usize>k << 2), <f32>size);
}

/** out[k] = sums[k] / sizes[k] for k < n, four at a time (the reference's float division). */
function divide(sums: usize, sizes: usize, out: usize, n: i32): void {
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const at = <usize>k << 2;
    v128.store(out + at, f32x4.div(v128.load(sums + at), v128.load(sizes + at)));
  }
  for (; k < n; k++) {
    const at = <usize>k << 2;
    store<f32>(out + at, load<f32>(sums + at) / load<f32>(sizes + at));
  }
}

/**
 * box1DFloat along `lines` rows at once (1 ≤ lines ≤ 8, rows `stride` bytes apart): the running sums only,
 * written to `sums` (the divisions follow per row). The lines' sums are independent chains, interleaved so
 * each waits less on its own previous addition.
 */
function rowSums8(inp: usize, sums: usize, stride: usize, cols: i32, window: i32): void {
  const half = (window + 2) / 2;
  const phase1 = half - 1;
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0, s4: f32 = 0, s5: f32 = 0, s6: f32 = 0, s7: f32 = 0;
  const i1 = inp + stride, i2 = i1 + stride, i3 = i2 + stride, i4 = i3 + stride, i5 = i4 + stride, i6 = i5 + stride, i7 = i6 + stride;
  const o1 = sums + stride, o2 = o1 + stride, o3 = o2 + stride, o4 = o3 + stride, o5 = o4 + stride, o6 = o5 + stride, o7 = o6 + stride;
  let ri: usize = 0;
  let li: usize = 0;
  let oi: usize = 0;
  const phase1End = <usize>phase1 << 2;
  const phase2End = <usize>window << 2;
  const colsEnd = <usize>cols << 2;
  for (; ri < phase1End; ri += 4) {
    s0 += load<f32>(inp + ri); s1 += load<f32>(i1 + ri); s2 += load<f32>(i2 + ri); s3 += load<f32>(i3 + ri);
    s4 += load<f32>(i4 + ri); s5 += load<f32>(i5 + ri); s6 += load<f32>(i6 + ri); s7 += load<f32>(i7 + ri);
  }
  for (; ri < phase2End; ri += 4, oi += 4) {
    s0 += load<f32>(inp + ri); s1 += load<f32>(i1 + ri); s2 += load<f32>(i2 + ri); s3 += load<f32>(i3 + ri);
    s4 += load<f32>(i4 + ri); s5 += load<f32>(i5 + ri); s6 += load<f32>(i6 + ri); s7 += load<f32>(i7 + ri);
    store<f32>(sums + oi, s0); store<f32>(o1 + oi, s1); store<f32>(o2 + oi, s2); store<f32>(o3 + oi, s3);
    store<f32>(o4 + oi, s4); store<f32>(o5 + oi, s5); store<f32>(o6 + oi, s6); store<f32>(o7 + oi, s7);
  }
  for (; ri < colsEnd; ri += 4, li += 4, oi += 4) {
    s0 += load<f32>(inp + ri); s1 += load<f32>(i1 + ri); s2 += load<f32>(i2 + ri); s3 += load<f32>(i3 + ri);
    s4 += load<f32>(i4 + ri); s5 += load<f32>(i5 + ri); s6 += load<f32>(i6 + ri); s7 += load<f32>(i7 + ri);
    s0 -= load<f32>(inp + li); s1 -= load<f32>(i1 + li); s2 -= load<f32>(i2 + li); s3 -= load<f32>(i3 + li);
    s4 -= load<f32>(i4 + li); s5 -= load<f32>(i5 + li); s6 -= load<f32>(i6 + li); s7 -= load<f32>(i7 + li);
    store<f32>(sums + oi, s0); store<f32>(o1 + oi, s1); store<f32>(o2 + oi, s2); store<f32>(o3 + oi, s3);
    store<f32>(o4 + oi, s4); store<f32>(o5 + oi, s5); store<f32>(o6 + oi, s6); store<f32>(o7 + oi, s7);
  }
  for (; oi < colsEnd; li += 4, oi += 4) {
    s0 -= load<f32>(inp + li); s1 -= load<f32>(i1 + li); s2 -= load<f32>(i2 + li); s3 -= load<f32>(i3 + li);
    s4 -= load<f32>(i4 + li); s5 -= load<f32>(i5 + li); s6 -= load<f32>(i6 + li); s7 -= load<f32>(i7 + li);
    store<f32>(sums + oi, s0); store<f32>(o1 + oi, s1); store<f32>(o2 + oi, s2); store<f32>(o3 + oi, s3);
    store<f32>(o4 + oi, s4); store<f32>(o5 + oi, s5); store<f32>(o6 + oi, s6); store<f32>(o7 + oi, s7);
  }
}

/** rowSums8 for a single row (the last rows of a plane whose row count is not a multiple of eight). */
function rowSums1(inp: usize, sums: usize, cols: i32, window: i32): void {
  const half = (window + 2) / 2;
  const phase1End = <usize>(half - 1) << 2;
  const phase2End = <usize>window << 2;
  const colsEnd = <usize>cols << 2;
  let s: f32 = 0;
  let ri: usize = 0;
  let li: usize = 0;
  let oi: usize = 0;
  for (; ri < phase1End; ri += 4) s += load<f32>(inp + ri);
  for (; ri < phase2End; ri += 4, oi += 4) {
    s += load<f32>(inp + ri);
    store<f32>(sums + oi, s);
  }
  for (; ri < colsEnd; ri += 4, li += 4, oi += 4) {
    s += load<f32>(inp + ri);
    s -= load<f32>(inp + li);
    store<f32>(sums + oi, s);
  }
  for (; oi < colsEnd; li += 4, oi += 4) {
    s -= load<f32>(inp + li);
    store<f32>(sums + oi, s);
  }
}

/** boxAlongRowsFloat: box1DFloat along every row of `inp` into `out`. `sizes` holds `cols` floats of scratch. */
function boxRows(inp: usize, out: usize, rows: i32, cols: i32, window: i32, sizes: usize): void {
  windowSizes(sizes, cols, window);
  const stride = <usize>cols << 2;
  let r = 0;
  for (; r + 8 <= rows; r += 8) {
    const at = <usize>r * stride;
    rowSums8(inp + at, out + at, stride, cols, window);
    for (let k: usize = 0; k < 8; k++) divide(out + at + k * stride, sizes, out + at + k * stride, cols);
  }
  for (; r < rows; r++) {
    const at = <usize>r * stride;
    rowSums1(inp + at, out + at, cols, window);
    divide(out + at, sizes, out + at, cols);
  }
}

/**
 * boxAlongColsFloat: box1DFloat down every column, all columns at once, row by row, four columns per
 * SIMD instruction (each lane the reference's sum of its column). `sums` holds `cols` floats of scratch.
 */
function boxColumns(inp: usize, out: usize, rows: i32, cols: i32, window: i32, sums: usize): void {
  const half = (window + 2) / 2;
  const phase1 = half - 1;
  const phase2 = window - half + 1;
  const phase3 = rows - window;
  const phase4 = half - 1;
  const stride = <usize>cols << 2;
  const vectorEnd = <usize>(cols & ~3) << 2;
  memory.fill(sums, 0, stride);
  let ri: usize = inp;
  let li: usize = inp;
  let oi: usize = out;
  let size = 0;
  for (let i = 0; i < phase1; i++, ri += stride, size++) {
    let j: usize = 0;
    for (; j < vectorEnd; j += 16) v128.store(sums + j, f32x4.add(v128.load(sums + j), v128.load(ri + j)));
    for (; j < stride; j += 4) store<f32>(sums + j, load<f32>(sums + j) + load<f32>(ri + j));
  }
  for (let i = 0; i < phase2; i++, ri += stride, oi += stride) {
    size++;
    const divisor = f32x4.splat(<f32>size);
    let j: usize = 0;
    for (; j < vectorEnd; j += 16) {
      const s = f32x4.add(v128.load(sums + j), v128.load(ri + j));
      v128.store(sums + j, s);
      v128.store(oi + j, f32x4.div(s, divisor));
    }
    for (; j < stride; j += 4) {
      const s = load<f32>(sums + j) + load<f32>(ri + j);
      store<f32>(sums + j, s);
      store<f32>(oi + j, s / <f32>size);
    }
  }
  const full = f32x4.splat(<f32>size);
  for (let i = 0; i < phase3; i++, ri += stride, li += stride, oi += stride) {
    let j: usize = 0;
    for (; j < vectorEnd; j += 16) {
      const s = f32x4.sub(f32x4.add(v128.load(sums + j), v128.load(ri + j)), v128.load(li + j));
      v128.store(sums + j, s);
      v128.store(oi + j, f32x4.div(s, full));
    }
    for (; j < stride; j += 4) {
      const s = load<f32>(sums + j) + load<f32>(ri + j) - load<f32>(li + j);
      store<f32>(sums + j, s);
      store<f32>(oi + j, s / <f32>size);
    }
  }
  for (let i = 0; i < phase4; i++, li += stride, oi += stride) {
    size--;
    const divisor = f32x4.splat(<f32>size);
    let j: usize = 0;
    for (; j < vectorEnd; j += 16) {
      const s = f32x4.sub(v128.load(sums + j), v128.load(li + j));
      v128.store(sums + j, s);
      v128.store(oi + j, f32x4.div(s, divisor));
    }
    for (; j < stride; j += 4) {
      const s = load<f32>(sums + j) - load<f32>(li + j);
      store<f32>(sums + j, s);
      store<f32>(oi + j, s / <f32>size);
    }
  }
}

/** Window per pass: half of (old/new), rounded up, since two passes are made (downscaling.cpp). */
function jaroszWindow(oldDimension: i32, newDimension: i32): i32 {
  return (oldDimension + 2 * newDimension - 1) / (2 * newDimension);
}

/**
 * jaroszFilterFloat (two rounds) on the rows×cols plane at `luma` (overwritten), then decimateFloat to
 * the 64×64 plane at `out`. `plane` is rows×cols floats of scratch, `scratch` max(rows, cols) floats.
 */
export function jaroszDecimate(luma: usize, plane: usize, rows: i32, cols: i32, scratch: usize, out: usize): void {
  const windowAlongRows = jaroszWindow(cols, 64);
  const windowAlongCols = jaroszWindow(rows, 64);
  for (let round = 0; round < 2; round++) {
    boxRows(luma, plane, rows, cols, windowAlongRows, scratch);
    boxColumns(plane, luma, rows, cols, windowAlongCols, scratch);
  }
  for (let i = 0; i < 64; i++) {
    const ini = <i32>(((<f64>i + 0.5) * <f64>rows) / 64.0);
    for (let j = 0; j < 64; j++) {
      const inj = <i32>(((<f64>j + 0.5) * <f64>cols) / 64.0);
      store<f32>(out + ((<usize>(i * 64 + j)) << 2), load<f32>(luma + ((<usize>ini * <usize>cols + <usize>inj) << 2)));
    }
  }
}

const LUMA_R: f32 = 0.299;
const LUMA_G: f32 = 0.587;
const LUMA_B: f32 = 0.114;

/**
 * Luminance of `count` interleaved 8-bit pixels of 1–4 channels into floats (pdqhashing.cpp's
 * fillFloatLumaFromBufferImage: 0.299·R + 0.587·G + 0.114·B in float; one- and two-channel images use
 * their first channel as is).
 */
export function luma(pixels: usize, count: i32, channels: i32, out: usize): void {
  const end = out + (<usize>count << 2);
  let p = pixels;
  if (channels <= 2) {
    for (let o = out; o < end; o += 4, p += channels) store<f32>(o, <f32>load<u8>(p));
    return;
  }
  for (let o = out; o < end; o += 4, p += channels) {
    store<f32>(o, LUMA_R * <f32>load<u8>(p) + LUMA_G * <f32>load<u8>(p, 1) + LUMA_B * <f32>load<u8>(p, 2));
  }
}

/**
 * dct64To16 (pdqhashing.cpp): B = D·A·Dᵀ for the 64×64 plane `a`, with `d` the 16×64 DCT basis as the
 * reference stores it, keeping the 16×16 low frequencies; `t` is 16×64 floats of scratch. Each output is
 * summed over k in ascending order, one float32 product and addition at a time, as the reference's loops
 * do; four outputs advance per SIMD instruction.
 */
export function dct64To16(a: usize, d: usize, t: usize, out: usize): void {
  memory.fill(t, 0, 16 * 64 * 4);
  for (let i: usize = 0; i < 16; i++) {
    const ti = t + i * 256;
    for (let k: usize = 0; k < 64; k++) {
      const dik = f32x4.splat(load<f32>(d + ((i * 64 + k) << 2)));
      const ak = a + k * 256;
      for (let j: usize = 0; j < 256; j += 16) v128.store(ti + j, f32x4.add(v128.load(ti + j), f32x4.mul(dik, v128.load(ak + j))));
    }
  }
  memory.fill(out, 0, 16 * 16 * 4);
  for (let i: usize = 0; i < 16; i++) {
    const bi = out + i * 64;
    for (let k: usize = 0; k < 64; k++) {
      const tik = f32x4.splat(load<f32>(t + ((i * 64 + k) << 2)));
      // Dᵀ row k: d[j][k] for j = 0..15, gathered (d is 16×64)
      for (let j: usize = 0; j < 16; j += 4) {
        const dk = f32x4(load<f32>(d + ((j * 64 + k) << 2)), load<f32>(d + (((j + 1) * 64 + k) << 2)), load<f32>(d + (((j + 2) * 64 + k) << 2)), load<f32>(d + (((j + 3) * 64 + k) << 2)));
        v128.store(bi + (j << 2), f32x4.add(v128.load(bi + (j << 2)), f32x4.mul(tik, dk)));
      }
    }
  }
}

/** pdqImageDomainQualityMetric: the 64×64 plane's quantised gradients, summed and scaled to 0–100. */
export function quality(b: usize): i32 {
  let sum = 0;
  for (let i: usize = 0; i < 63; i++) {
    for (let j: usize = 0; j < 64; j++) {
      const at = b + ((i * 64 + j) << 2);
      const u = load<f32>(at);
      const v = load<f32>(at, 256);
      sum += abs<i32>(<i32>(((u - v) * <f32>100.0) / <f32>255.0));
    }
  }
  for (let i: usize = 0; i < 64; i++) {
    for (let j: usize = 0; j < 63; j++) {
      const at = b + ((i * 64 + j) << 2);
      const u = load<f32>(at);
      const v = load<f32>(at, 4);
      sum += abs<i32>(<i32>(((u - v) * <f32>100.0) / <f32>255.0));
    }
  }
  const scaled = sum / 90;
  return scaled > 100 ? 100 : scaled;
}
