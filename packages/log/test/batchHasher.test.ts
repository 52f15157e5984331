/**
 * Appends hashed by worker threads (batchHasher.ts, hashWorker.js) store exactly what hashing on the log's
 * own thread stores, row for row; and a worker that dies, or a batch hashed for a start another server
 * node took, costs speed only: the tree stays the verifier's.
 */
import { openDb, type Db } from '@doublelock/store';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchHasher, generateSignerKey, TransparencyLog } from '../src/index.ts';
import { RootBuilder } from '../src/verifier/index.ts';

const entry = (i: number): Uint8Array => new TextEncoder().encode(`entry ${i} ${'x'.repeat(i % 70)}`);
const BATCHES = [1, 3, 5, 250, 7, 1024, 1, 33, 2000, 513];

describe('log hashing in worker threads', () => {
  let db: Db;
  afterEach(async () => db?.close());

  async function rows(origin: string) {
    return db.all<{ idx: number; leaf_hash: Uint8Array; nodes: Uint8Array | null }>('SELECT idx, leaf_hash, nodes FROM log_leaves WHERE log_id = ? ORDER BY idx', [origin]);
  }

  it('stores the same leaf hashes and node blobs as hashing inline, for batches cut at every kind of boundary', async () => {
    db = await openDb({ sqlitePath: ':memory:' });
    const inline = await TransparencyLog.open(db, { signerKey: generateSignerKey('inline.test/log'), hashing: { workers: 0 } });
    const workers = await TransparencyLog.open(db, { signerKey: generateSignerKey('workers.test/log'), hashing: { workers: 2, minBatch: 2, segment: 100 } });
    let next = 0;
    for (const n of BATCHES) {
      const batch = Array.from({ length: n }, (_, i) => entry(next + i));
      expect(await workers.append(batch)).toEqual(await inline.append(batch));
      next += n;
    }
    const [a, b] = [await rows('inline.test/log'), await rows('workers.test/log')];
    expect(b).toHaveLength(next);
    expect(b).toEqual(a);
    expect(b.filter((r) => r.nodes !== null).length).toBeGreaterThan(next / 3);
    expect((await workers.checkpoint()).rootHash).toEqual((await inline.checkpoint()).rootHash);
  });

  it('hashes inline what a dead worker was given, and everything after', async () => {
    db = await openDb({ sqlitePath: ':memory:' });
    const hasher = new BatchHasher({ workers: 2, minBatch: 1, segment: 64 });
    const log = await TransparencyLog.open(db, { signerKey: generateSignerKey('example.test/log'), hashing: hasher });
    await log.append(Array.from({ length: 500 }, (_, i) => entry(i)));
    const pending = log.append(Array.from({ length: 3000 }, (_, i) => entry(500 + i)));
    await new Promise((resolve) => setImmediate(resolve)); // the batch is taken and its segments sent out
    await hasher.close(); // the workers die with segments of the batch still queued
    expect(await pending).toEqual({ firstIndex: 500 });
    expect(hasher.wants(10_000)).toBe(false);
    await log.append(Array.from({ length: 1500 }, (_, i) => entry(3500 + i)));
    const builder = new RootBuilder();
    for (let i = 0; i < 5000; i++) builder.addEntry(entry(i));
    expect((await log.checkpoint()).rootHash).toEqual(builder.root());
  });

  it('keeps one tree when two server nodes race with worker-hashed batches (hashes made for a start another node took are redone)', async () => {
    db = await openDb({ sqlitePath: ':memory:' });
    const options = { signerKey: generateSignerKey('example.test/log'), hashing: { workers: 1, minBatch: 1, segment: 50 } };
    const [nodeA, nodeB] = [await TransparencyLog.open(db, options), await TransparencyLog.open(db, options)];
    const appended = await Promise.all(
      Array.from({ length: 8 }, (_, k) => (k % 2 ? nodeA : nodeB).append(Array.from({ length: 120 + k }, (_, i) => new TextEncoder().encode(`${k}/${i}`)))),
    );
    const size = appended.reduce((n, _, k) => n + 120 + k, 0);
    expect((await nodeA.checkpoint()).size).toBe(size);
    const entries = await nodeB.entries(0, size);
    const builder = new RootBuilder();
    entries.forEach((e) => builder.addEntry(e));
    expect((await nodeB.checkpoint()).rootHash).toEqual(builder.root());
    appended.forEach(({ firstIndex }, k) => expect(new TextDecoder().decode(entries[firstIndex])).toBe(`${k}/0`));
  });
});
