/** Hamming distance over packed 256-bit hashes (eight Uint32 words each). */

/** Population count of a 32-bit integer (SWAR; "Hacker's Delight" 5-2). */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Distance between hash `i` of `a` and hash `j` of `b` (offsets in hashes, not words). */
export function distance256(a: Uint32Array, i: number, b: Uint32Array, j: number): number {
  const p = i * 8;
  const q = j * 8;
  return (
    popcount32(a[p]! ^ b[q]!) +
    popcount32(a[p + 1]! ^ b[q + 1]!) +
    popcount32(a[p + 2]! ^ b[q + 2]!) +
    popcount32(a[p + 3]! ^ b[q + 3]!) +
    popcount32(a[p + 4]! ^ b[q + 4]!) +
    popcount32(a[p + 5]! ^ b[q + 5]!) +
    popcount32(a[p + 6]! ^ b[q + 6]!) +
    popcount32(a[p + 7]! ^ b[q + 7]!)
  );
}
