import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PdqIndex, bruteForceSearch } from '../src/pdqIndex.ts';
import { readPdqIndexFile, writePdqIndexFile } from '../src/pdqIndexFile.ts';

const dir = mkdtempSync(join(tmpdir(), 'dl-pdqix-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function hashes(n: number, seed: number): Uint32Array {
  let x = seed;
  const words = new Uint32Array(n * 8);
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  // every 10th hash a near copy of the one before (a few bits off), so queries have real neighbours
  for (let i = 10; i < n; i += 10) {
    words.copyWithin(i * 8, (i - 1) * 8, i * 8);
    words[i * 8 + (i % 8)]! ^= 0x00010101 << (i % 7);
  }
  return words;
}

describe('stored PdqIndex file', () => {
  const n = 3000;
  const words = hashes(n, 0x1234567);
  const index = new PdqIndex();
  index.addPacked(words, Uint32Array.from({ length: n }, (_, i) => i + 7));
  const path = join(dir, 'bank.idx');
  writePdqIndexFile(path, index, { bank: 'b', rows: n });

  it('reopens to an index that answers exactly as the built one and as brute force', () => {
    const read = readPdqIndexFile(path);
    expect(read?.about).toEqual({ bank: 'b', rows: n });
    const reopened = read!.index;
    expect(reopened.size).toBe(n);
    for (let q = 0; q < 60; q++) {
      const query = words.slice(q * 41 * 8, q * 41 * 8 + 8);
      query[3]! ^= 0x0f0f0f00;
      const want = bruteForceSearch(words, n, query, 31).map(([i, d]) => `${i + 7}:${d}`).sort();
      expect(reopened.query(query).map((m) => `${m.key}:${m.distance}`).sort()).toEqual(want);
      expect(index.query(query).map((m) => `${m.key}:${m.distance}`).sort()).toEqual(want);
    }
    // and it still takes adds after adopting the file's arrays
    reopened.add(words.slice(0, 8), 999_999);
    expect(reopened.query(words.slice(0, 8), 0).map((m) => m.key).sort()).toEqual([7, 999_999]);
  });

  it('gives undefined for a truncated file, another version, or garbage, never a broken index', () => {
    const bytes = readFileSync(path);
    const truncated = join(dir, 'truncated.idx');
    writeFileSync(truncated, bytes);
    truncateSync(truncated, bytes.length - 100);
    expect(readPdqIndexFile(truncated)).toBeUndefined();
    for (const old of ['DLPDQIX1', 'DLPDQIX2']) {
      const file = join(dir, `${old}.idx`);
      writeFileSync(file, Buffer.concat([Buffer.from(old), bytes.subarray(8)]));
      expect(readPdqIndexFile(file)).toBeUndefined();
    }
    const garbage = join(dir, 'garbage.idx');
    writeFileSync(garbage, Buffer.concat([bytes.subarray(0, 12), Buffer.from('{"count":'), Buffer.alloc(64)]));
    expect(readPdqIndexFile(garbage)).toBeUndefined();
    expect(readPdqIndexFile(join(dir, 'missing.idx'))).toBeUndefined();
  });
});
