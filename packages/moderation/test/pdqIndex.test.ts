import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hexToWords } from '../src/pdqHash.ts';
import { PdqIndex, bruteForceSearch, segmentRadii } from '../src/pdqIndex.ts';
import { PDQ_REFERENCE, csvLines, hasPdqReference } from './shared.ts';

/** Deterministic xorshift32 so failures reproduce. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function randomHashes(n: number, seed: number, nearShare = 0.5): Uint32Array {
  const next = rng(seed);
  const words = new Uint32Array(n * 8);
  for (let i = 0; i < n; i++) {
    if (i > 0 && next() / 2 ** 32 < nearShare) {
      // a near duplicate of an earlier hash, 0–40 bits away
      const from = next() % i;
      words.copyWithin(i * 8, from * 8, from * 8 + 8);
      const flips = next() % 41;
      for (let f = 0; f < flips; f++) {
        const bit = next() % 256;
        words[i * 8 + (bit >> 5)]! ^= 1 << (bit & 31);
      }
    } else {
      for (let w = 0; w < 8; w++) words[i * 8 + w] = next();
    }
  }
  return words;
}

const sortPairs = (pairs: Array<[number, number]>) => pairs.map(([k, d]) => `${k}:${d}`).sort();

describe.skipIf(!hasPdqReference)('PdqIndex on the reference needles and haystack', () => {
  it('returns exactly the 250 pairs at distance ≤ 31 (50 at 0), every needle hit, as brute force', () => {
    const read = (f: string) => csvLines(readFileSync(join(PDQ_REFERENCE, 'index', f), 'utf8')).map((l) => l.trim());
    const needles = read('needles.txt');
    const haystack = read('haystack.txt');
    expect([needles.length, haystack.length]).toEqual([100, 1350]);
    const index = new PdqIndex();
    haystack.forEach((hex, i) => index.add(hex, i));
    const packed = new Uint32Array(haystack.length * 8);
    haystack.forEach((hex, i) => hexToWords(hex, packed, i * 8));
    const pairs: string[] = [];
    const brute: string[] = [];
    let hitNeedles = 0;
    for (const [n, hex] of needles.entries()) {
      const found = index.query(hex);
      if (found.length) hitNeedles++;
      pairs.push(...found.map((m) => `${n}-${m.key}:${m.distance}`));
      const q = new Uint32Array(8);
      hexToWords(hex, q, 0);
      brute.push(...bruteForceSearch(packed, haystack.length, q, 31).map(([i, d]) => `${n}-${i}:${d}`));
    }
    expect(pairs.length).toBe(250);
    expect(pairs.filter((p) => p.endsWith(':0')).length).toBe(50);
    expect(hitNeedles).toBe(100);
    expect(pairs.sort()).toEqual(brute.sort());
  });
});

/** Flips k distinct bits inside segment s (bits 16s … 16s + 15) of the hash at words[at …]. */
function flip(words: Uint32Array, at: number, s: number, k: number, shift: number) {
  for (let i = 0; i < k; i++) {
    const bit = s * 16 + ((i * 5 + shift) % 16);
    words[at + (bit >> 5)]! ^= 1 << (bit & 31);
  }
}

/**
 * Moves a hash 31 bits away so that only one route of the index finds it: 3 bits in pair q % 8 (split
 * 0+3, 1+2, 2+1 or 3+0: at its bound r_a + r_b + 1 = 3) and 2 + 2 in every other pair (one over its bound,
 * and neither segment within radius 1): only that pair finds it, through its segment at 0 or 1 flips
 * with the partner at exactly the filter's limit.
 */
function atTheLimit(query: Uint32Array, q: number) {
  const pair = q % 8;
  const split = [
    [0, 3],
    [1, 2],
    [2, 1],
    [3, 0],
  ][Math.floor(q / 8) % 4]!;
  for (let p = 0; p < 8; p++) {
    flip(query, 0, 2 * p, p === pair ? split[0]! : 2, q + p);
    flip(query, 0, 2 * p + 1, p === pair ? split[1]! : 2, q + 3 * p);
  }
}

describe('PdqIndex', () => {
  it('has exact recall against brute force on random and near-duplicate hashes (bulk-loaded)', () => {
    const n = 20_000;
    const words = randomHashes(n, 7);
    const index = new PdqIndex();
    index.addPacked(words, Uint32Array.from({ length: n }, (_, i) => i));
    expect(index.size).toBe(n);
    const queries = randomHashes(300, 99, 0);
    // half the queries are perturbed copies of stored hashes, so plenty of answers exist
    for (let q = 0; q < 150; q++) {
      const from = (q * 131) % n;
      queries.set(words.subarray(from * 8, from * 8 + 8), q * 8);
      for (let f = 0; f < q % 36; f++) queries[q * 8 + ((f * 7) % 8)]! ^= 1 << ((f * 13) % 32);
    }
    let answers = 0;
    for (let q = 0; q < 300; q++) {
      const query = queries.subarray(q * 8, q * 8 + 8);
      for (const radius of [31, 12, 0]) {
        const got = index.query(query, radius).map((m): [number, number] => [m.key, m.distance]);
        const want = bruteForceSearch(words, n, query, radius);
        expect(sortPairs(got)).toEqual(sortPairs(want));
        if (radius === 31) answers += want.length;
      }
    }
    expect(answers).toBeGreaterThan(150);
  });

  it('has exact recall when buckets are large (the scan\'s four-word steps, its tails, odd buckets)', () => {
    // Each segment's value drawn from a small skewed pool, so buckets hold from one to hundreds of
    // entries (at 10M hashes a bucket holds ~150; random 20,000-hash tests see about one), plus near
    // copies with bits flipped.
    const next = rng(21);
    const pools = Array.from({ length: 16 }, () => Array.from({ length: 48 }, () => next() & 0xffff));
    const n = 24_000;
    const words = new Uint32Array(n * 8);
    for (let i = 0; i < n; i++) {
      if (i > 0 && i % 4 === 0) {
        words.copyWithin(i * 8, (i - 1) * 8, i * 8);
        for (let f = next() % 30; f > 0; f--) words[i * 8 + (next() % 8)]! ^= 1 << next() % 32;
        continue;
      }
      for (let s = 0; s < 16; s++) {
        const v = pools[s]![Math.min(next() % 48, next() % 48)]!;
        words[i * 8 + (s >> 1)]! |= (s & 1 ? v << 16 : v) >>> 0;
      }
    }
    const index = new PdqIndex();
    index.addPacked(words, Uint32Array.from({ length: n }, (_, i) => i));
    // every query 31 bits from a stored hash with one route to it (atTheLimit), so a filter the scan
    // wrongly drops anywhere (a step, a tail, an odd bucket's last entry) loses a neighbour
    for (let q = 0; q < 160; q++) {
      const from = (q * 149) % n;
      const query = words.slice(from * 8, from * 8 + 8);
      atTheLimit(query, q);
      const want = bruteForceSearch(words, n, query, 31);
      expect(want.map(([i]) => i)).toContain(from);
      expect(sortPairs(index.query(query).map((m): [number, number] => [m.key, m.distance]))).toEqual(sortPairs(want));
    }
  });

  it('builds from packed arrays it adopts (full 16-bit tables at 70,000 hashes; tiny and empty inputs), then grows by adds', () => {
    const n = 70_000;
    const words = randomHashes(n, 5, 0.3);
    const keys = Uint32Array.from({ length: n }, (_, i) => i * 3);
    const index = PdqIndex.fromPacked(words, keys);
    expect(index.size).toBe(n);
    // adopted, not copied: the snapshot's hashes are the caller's buffer
    expect(index.toSnapshot().arrays[0]!.buffer).toBe(words.buffer);
    expect(index.toSnapshot().baseBits).toEqual(Array.from({ length: 16 }, () => 16));
    const check = (all: Uint32Array, count: number, keyOf: (i: number) => number) => {
      for (let q = 0; q < 60; q++) {
        const query = all.slice(((q * 1013) % count) * 8, ((q * 1013) % count) * 8 + 8);
        query[q % 8]! ^= (1 << (q % 32)) | (q % 3 ? 0xf0 : 0);
        const want = bruteForceSearch(all, count, query, 31).map(([i, d]): [number, number] => [keyOf(i), d]);
        expect(want.length).toBeGreaterThan(0);
        expect(sortPairs(index.query(query).map((m): [number, number] => [m.key, m.distance]))).toEqual(sortPairs(want));
      }
    };
    check(words, n, (i) => i * 3);
    // adds after the build go to the delta (the storage grows by a copy of its own)
    const more = randomHashes(n + 50, 5, 0.3).subarray(n * 8);
    for (let i = 0; i < 50; i++) index.add(more.slice(i * 8, i * 8 + 8), (n + i) * 3);
    const all = new Uint32Array((n + 50) * 8);
    all.set(words.subarray(0, n * 8));
    all.set(more, n * 8);
    check(all, n + 50, (i) => i * 3);

    const tiny = randomHashes(5, 8, 0);
    const small = PdqIndex.fromPacked(tiny.slice(), Uint32Array.from([9, 8, 7, 6, 5]));
    expect(small.query(tiny.subarray(16, 24))).toEqual([{ key: 7, distance: 0 }]);
    const empty = PdqIndex.fromPacked(new Uint32Array(0), new Uint32Array(0));
    expect([empty.size, empty.query(tiny.subarray(0, 8)).length]).toEqual([0, 0]);
    expect(() => PdqIndex.fromPacked(new Uint32Array(15), new Uint32Array(2))).toThrow(/8 × 2/);
  });

  it('finds neighbours the pair filter must not drop: one pair at its limit, the others just over', () => {
    const n = 5000;
    const words = randomHashes(n, 11, 0);
    const index = new PdqIndex({ maxDistance: 43 });
    index.addPacked(words, Uint32Array.from({ length: n }, (_, i) => i));
    for (let q = 0; q < 48; q++) {
      const query = words.slice(q * 97 * 8, q * 97 * 8 + 8);
      // distance 31 = 3 (one pair at its bound r_a + r_b + 1 = 3) + 7 × 4 (every other pair at 2 + 2, one
      // over its bound, and neither segment within radius 1): only the one pair can find it, through its
      // segment at 0 or 1 flips with the partner at exactly the filter's limit
      atTheLimit(query, q);
      expect(bruteForceSearch(words, n, query, 31).map(([i]) => i)).toContain(q * 97);
      for (const radius of [43, 36, 31, 30]) {
        const got = index.query(query, radius).map((m): [number, number] => [m.key, m.distance]);
        expect(sortPairs(got)).toEqual(sortPairs(bruteForceSearch(words, n, query, radius)));
      }
      expect(index.query(query, 31).map((m) => m.key)).toContain(q * 97);
    }
  });

  it('adds and removes incrementally, across automatic compactions, with exact recall', () => {
    const n = 3000;
    const words = randomHashes(n, 3);
    const index = new PdqIndex();
    index.addPacked(words.subarray(0, 1000 * 8), Uint32Array.from({ length: 1000 }, (_, i) => i));
    const alive = new Set<number>(Array.from({ length: 1000 }, (_, i) => i));
    const pick = rng(11);
    const hexOf = (i: number) => Array.from(words.subarray(i * 8, i * 8 + 8), (w) => w.toString(16).padStart(8, '0')).join('');
    for (let i = 1000; i < n; i++) {
      index.add(hexOf(i), i);
      alive.add(i);
      if (i % 3 === 0) {
        const victim = pick() % i;
        if (alive.has(victim)) {
          expect(index.remove(hexOf(victim), victim)).toBe(true);
          alive.delete(victim);
        } else {
          expect(index.remove(hexOf(victim), victim)).toBe(false);
        }
      }
    }
    expect(index.size).toBe(alive.size);
    for (let q = 0; q < n; q += 37) {
      const query = words.subarray(q * 8, q * 8 + 8);
      const got = index.query(query).map((m): [number, number] => [m.key, m.distance]);
      const want = bruteForceSearch(words, n, query, 31).filter(([i]) => alive.has(i));
      expect(sortPairs(got)).toEqual(sortPairs(want));
    }
    index.compact();
    expect(index.size).toBe(alive.size);
    const query = words.subarray(8 * 2999, 8 * 3000);
    expect(index.query(query).some((m) => m.key === 2999)).toBe(alive.has(2999));
  });

  it('keeps several entries of one hash apart by key', () => {
    const index = new PdqIndex();
    const hex = 'ab'.repeat(32);
    index.add(hex, 1);
    index.add(hex, 2);
    expect(index.query(hex).map((m) => m.key).sort()).toEqual([1, 2]);
    expect(index.remove(hex, 1)).toBe(true);
    expect(index.query(hex)).toEqual([{ key: 2, distance: 0 }]);
  });

  it('uses radii that satisfy the generalised pigeonhole bound', () => {
    for (let d = 0; d <= 43; d++) expect(segmentRadii(d).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(d - 15);
    // 16 segments at radius 1 for PDQ's threshold: 16 × 17 = 272 probes a query
    expect(segmentRadii(31)).toEqual(Array.from({ length: 16 }, () => 1));
  });

  it('validates its inputs', () => {
    const index = new PdqIndex();
    expect(() => index.add('zz', 1)).toThrow(/64 hex digits/);
    expect(() => index.add('00'.repeat(32), -1)).toThrow(/uint32/);
    expect(() => index.query('00'.repeat(32), 40)).toThrow(/0–31/);
    expect(() => new PdqIndex({ maxDistance: 44 })).toThrow(/0–43/);
  });
});
