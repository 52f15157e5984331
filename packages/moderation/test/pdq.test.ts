import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pdqDihedralHashImage, pdqHashImage } from '../src/image.ts';
import { DIHEDRALS, PDQ_QUALITY_THRESHOLD, pdqDihedralFromRgb, pdqFromRgb } from '../src/pdq.ts';
import { PdqHash } from '../src/pdqHash.ts';
import { PDQ_REFERENCE, csvLines, hasPdqReference } from './shared.ts';

describe.skipIf(!hasPdqReference)('PDQ against Meta reference output', () => {
  it('is bit-exact on every raw-rgb vector, all eight dihedral variants', () => {
    const dir = join(PDQ_REFERENCE, 'raw-rgb');
    const [header, ...rows] = csvLines(readFileSync(join(dir, 'expected-from-rgb.csv'), 'utf8'));
    expect(header!.split(',').slice(5)).toEqual(['pdq', 'rot90', 'rot180', 'rot270', 'flipx', 'flipy', 'flipplus1', 'flipminus1']);
    let exact = 0;
    for (const row of rows) {
      const [name, w, h, quality, comparable, ...expected] = row.split(',');
      const rgb = readFileSync(join(dir, `${name}.rgb`));
      expect(rgb.length).toBe(Number(w) * Number(h) * 3);
      const result = pdqDihedralFromRgb(rgb, Number(w), Number(h));
      expect(result.quality, name).toBe(Number(quality));
      if (comparable !== 'yes') continue; // degenerate (flat, checkerboard): quality only, per the README
      expect(DIHEDRALS.map((d) => result.hashes[d].toHex()), name).toEqual(expected);
      expect(pdqFromRgb(rgb, Number(w), Number(h)).hash.toHex()).toBe(expected[0]);
      exact++;
    }
    expect(exact).toBe(rows.filter((r) => r.split(',')[4] === 'yes').length);
    console.log(`raw-rgb: ${exact}/${exact} comparable vectors bit-exact × 8 dihedral variants; quality equal on all ${rows.length}`);
  });

  it('matches expected.csv: identical on lossless images, ≥ 90% identical and all within 4 bits on JPEG', async () => {
    let lossless = 0;
    let jpeg = 0;
    let jpegIdentical = 0;
    let jpegMaxDistance = 0;
    for (const folder of ['synthetic', 'meta']) {
      const dir = join(PDQ_REFERENCE, folder);
      for (const row of csvLines(readFileSync(join(dir, 'expected.csv'), 'utf8'))) {
        const [hex, quality, file] = row.split(',');
        const got = await pdqHashImage(join(dir, file!));
        const distance = got.hash.distance(PdqHash.fromHex(hex!));
        if (/\.jpe?g$/i.test(file!)) {
          jpeg++;
          if (distance === 0 && got.quality === Number(quality)) jpegIdentical++;
          jpegMaxDistance = Math.max(jpegMaxDistance, distance);
        } else {
          lossless++;
          expect({ file, hash: got.hash.toHex(), quality: got.quality }).toEqual({ file, hash: hex, quality: Number(quality) });
        }
      }
    }
    console.log(`expected.csv: lossless ${lossless}/${lossless} identical; JPEG ${jpegIdentical}/${jpeg} identical (${((100 * jpegIdentical) / jpeg).toFixed(1)}%), max Hamming distance ${jpegMaxDistance}`);
    expect(lossless).toBeGreaterThan(50);
    expect(jpeg).toBeGreaterThan(50);
    expect(jpegIdentical / jpeg).toBeGreaterThanOrEqual(0.9);
    expect(jpegMaxDistance).toBeLessThanOrEqual(4);
  });

  it('ignores EXIF orientation, as the reference does', async () => {
    // exif-rotn-6 is stored landscape with a "rotate 90°" tag: the reference hashes the stored pixels.
    const got = await pdqHashImage(join(PDQ_REFERENCE, 'meta/exif-rotn/exif-rotn-6.jpg'));
    expect(got.width).toBeGreaterThan(got.height);
    expect(got.hash.toHex()).toBe('e8783aad54ae0b63653192c279592d6ad4b5434a5fcd7071f7abcb594b481a94');
  });

  it("derives each dihedral variant's hash from the original's DCT, matching the transformed image", async () => {
    const dir = join(PDQ_REFERENCE, 'meta/dih');
    const original = await pdqDihedralHashImage(join(dir, 'bridge-1-original.jpg'));
    const files: Record<string, string> = {
      rot90: 'bridge-2-rotate-90.jpg', rot180: 'bridge-3-rotate-180.jpg', rot270: 'bridge-4-rotate-270.jpg', flipx: 'bridge-5-flipx.jpg',
      flipy: 'bridge-6-flipy.jpg', flipplus1: 'bridge-7-flip-plus-1.jpg', flipminus1: 'bridge-8-flip-minus-1.jpg',
    };
    for (const [variant, file] of Object.entries(files)) {
      const transformed = await pdqHashImage(join(dir, file));
      const d = original.hashes[variant as keyof typeof original.hashes].distance(transformed.hash);
      expect(d, variant).toBeLessThanOrEqual(31); // a match at PDQ's threshold; JPEG re-encoding adds a few bits
      expect(original.hashes.original.distance(transformed.hash), variant).toBeGreaterThan(31);
    }
  });
});

describe('PDQ edge cases', () => {
  it('hashes images under 5 px to zeros with quality 0', () => {
    const r = pdqFromRgb(new Uint8Array(4 * 4 * 3).fill(200), 4, 4);
    expect(r).toEqual({ hash: PdqHash.zero(), quality: 0 });
  });

  it('rejects pixel buffers that do not fit the dimensions', () => {
    expect(() => pdqFromRgb(new Uint8Array(10), 5, 5)).toThrow(/needs 75/);
    expect(() => pdqFromRgb(new Uint8Array(10), -1, 5)).toThrow(/non-negative/);
  });

  it("takes a mean as sum × (1/size) without leaving the reference's float32 division", () => {
    // the box filters' shortcut (pdq.ts): for float32 x and integer sizes, fround(x · (1/n)) = fround(x / n)
    const f32 = Math.fround;
    const words = new Uint32Array(1);
    const asFloat = new Float32Array(words.buffer);
    let x = 0x2545f491;
    let checked = 0;
    for (let i = 0; i < 50_000; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[0] = (x >>> 0) & 0x7f7fffff; // positive, finite
      const v = asFloat[0]!;
      for (let n = 1; n <= 40; n++) {
        if (f32(v * (1 / n)) !== f32(v / n)) throw new Error(`${v} / ${n}`);
        checked++;
      }
    }
    // values of the kind the filters divide: sums of 8-bit luma
    let differ = 0;
    for (let sum = 0; sum <= 255 * 40; sum += 0.25) for (let n = 1; n <= 40; n++) if (f32(f32(sum) * (1 / n)) !== f32(f32(sum) / n)) differ++;
    expect(differ).toBe(0);
    expect(checked).toBe(2_000_000);
  });

  it('round-trips the hex form and counts distance', () => {
    const a = PdqHash.fromHex('f'.repeat(64));
    expect(a.distance(PdqHash.zero())).toBe(256);
    expect(PdqHash.fromHex(a.toHex()).equals(a)).toBe(true);
    expect(() => PdqHash.fromHex('xyz')).toThrow(/64 hex digits/);
    expect(PDQ_QUALITY_THRESHOLD).toBe(50);
  });
});
