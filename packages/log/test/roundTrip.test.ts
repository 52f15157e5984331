/**
 * Prover → verifier round trips on both stores: roots recomputed independently by the verifier's
 * RootBuilder, inclusion and consistency proofs for every (index, size) / (from, to) pair of the
 * small trees and a sample of larger ones, and tampered proofs rejected.
 */
import type { Db } from '@doublelock/store';
import { dialectCases } from '@doublelock/store/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSignerKey, TransparencyLog } from '../src/index.ts';
import { hashLeaf, openCheckpoint, RootBuilder, verifyConsistency, verifyInclusion } from '../src/verifier/index.ts';

const entry = (i: number): Uint8Array => new TextEncoder().encode(`entry ${i}`);

// The same on SQLite with every batch hashed by worker threads (batchHasher.ts) in segments of 3 entries:
// segments start and end at every kind of subtree boundary.
const cases = [...dialectCases(), { name: 'sqlite, hashed by workers', open: dialectCases()[0]!.open, hashing: { workers: 2, minBatch: 1, segment: 3 } }];

describe.each(cases)('TransparencyLog round trips on $name', ({ name, open, ...mode }) => {
  const SIZE = 1100;
  let db: Db;
  let log: TransparencyLog;
  const roots: Uint8Array[] = []; // roots[n] = MTH of the first n entries, computed by the verifier

  beforeAll(async () => {
    db = await open();
    log = await TransparencyLog.open(db, { signerKey: generateSignerKey('example.test/log'), ...('hashing' in mode && { hashing: mode.hashing }) });
    // Uneven batch sizes so tree updates start and end at every kind of boundary.
    let next = 0;
    for (const batch of [1, 2, 1, 5, 8, 3, 16, 7, 31, 64, 1, 100, 255, 606]) {
      const { firstIndex } = await log.append(Array.from({ length: batch }, (_, i) => entry(next + i)));
      expect(firstIndex).toBe(next);
      next += batch;
    }
    expect(next).toBe(SIZE);
    const builder = new RootBuilder();
    roots.push(builder.root());
    for (let i = 0; i < SIZE; i++) {
      builder.addEntry(entry(i));
      roots.push(builder.root());
    }
  });
  afterAll(async () => db?.close());

  it('stores the tree: the root at every size equals the verifier’s own computation', async () => {
    const sizes = name.startsWith('sqlite') ? Array.from({ length: SIZE + 1 }, (_, n) => n) : [0, 1, 2, 3, 7, 8, 9, 63, 64, 65, 511, 512, 513, 1099, 1100];
    for (const n of sizes) expect(Buffer.from(await log.rootAt(n)).toString('hex'), `size ${n}`).toBe(Buffer.from(roots[n]!).toString('hex'));
  });

  it('inclusion proofs verify for every leaf of every tree up to 40 leaves and a sample beyond', async () => {
    const cases: Array<[number, number]> = [];
    for (let n = 1; n <= 40; n++) for (let i = 0; i < n; i++) cases.push([i, n]);
    for (const n of [255, 256, 257, 1000, SIZE]) for (const i of [0, 1, n >> 1, n - 2, n - 1]) cases.push([i, n]);
    for (const [i, n] of cases) {
      const proof = await log.inclusionProof(i, n);
      expect(() => verifyInclusion(i, n, hashLeaf(entry(i)), proof, roots[n]!), `leaf ${i} of ${n}`).not.toThrow();
      expect(() => verifyInclusion(i, n, hashLeaf(entry(i + 1)), proof, roots[n]!)).toThrow();
      if (proof.length > 0) {
        const tampered = proof.map((p) => p.slice());
        tampered[tampered.length - 1]![0]! ^= 1;
        expect(() => verifyInclusion(i, n, hashLeaf(entry(i)), tampered, roots[n]!)).toThrow();
      }
    }
  });

  it('consistency proofs verify for every pair of sizes up to 33 and a sample beyond', async () => {
    const cases: Array<[number, number]> = [];
    for (let n = 1; n <= 33; n++) for (let m = 1; m <= n; m++) cases.push([m, n]);
    for (const [m, n] of [[1, SIZE], [7, 1000], [256, 257], [512, SIZE], [513, 1024], [1024, SIZE], [1099, SIZE]] as const) cases.push([m, n]);
    for (const [m, n] of cases) {
      const proof = await log.consistencyProof(m, n);
      expect(() => verifyConsistency(m, n, proof, roots[m]!, roots[n]!), `${m} → ${n}`).not.toThrow();
      if (m < n) expect(() => verifyConsistency(m, n, proof, roots[m - 1] ?? roots[m + 1]!, roots[n]!)).toThrow();
    }
  });

  it('signs checkpoints a client can open, and serves entries', async () => {
    const checkpoint = await log.checkpoint();
    expect(checkpoint.size).toBe(SIZE);
    const opened = openCheckpoint(checkpoint.note, log.verifierKey);
    expect(opened.origin).toBe('example.test/log');
    expect(opened.rootHash).toEqual(roots[SIZE]);
    const { checkpoint: current, proof } = await log.prove(1000);
    expect(current.size).toBe(SIZE);
    verifyInclusion(1000, SIZE, hashLeaf(entry(1000)), proof, openCheckpoint(current.note, log.verifierKey).rootHash);
    const entries = await log.entries(10, 13);
    expect(entries.map((e) => new TextDecoder().decode(e))).toEqual(['entry 10', 'entry 11', 'entry 12']);
  });

  it('refuses proofs and entries beyond the tree', async () => {
    await expect(log.inclusionProof(0, SIZE + 1)).rejects.toMatchObject({ code: 'not_found' });
    await expect(log.inclusionProof(SIZE, SIZE)).rejects.toMatchObject({ code: 'bad_request' });
    await expect(log.consistencyProof(0, 5)).rejects.toMatchObject({ code: 'bad_request' });
    await expect(log.consistencyProof(6, 5)).rejects.toMatchObject({ code: 'bad_request' });
    await expect(log.entries(5, 5)).rejects.toMatchObject({ code: 'bad_request' });
    await expect(log.entries(-1, 5)).rejects.toMatchObject({ code: 'bad_request' });
  });
});
