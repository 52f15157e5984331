/**
 * TransparencyLog behaviour on both stores: concurrent appends coalesced into few tree updates with
 * correct indices, two log instances (two server nodes) appending to one database, witness
 * cosignatures accepted only from configured witnesses, checkpoints cached per size.
 */
import type { Db } from '@doublelock/store';
import { dialectCases } from '@doublelock/store/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { CosignatureSigner, generateSignerKey, nodePosition, SqlLogStorage, TransparencyLog, type AppendBatch } from '../src/index.ts';
import { hashLeaf, openCheckpoint, requireWitnesses, RootBuilder, SIGNATURE_COSIGNATURE_V1, verifyConsistency, verifyInclusion } from '../src/verifier/index.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const LOG_KEY = generateSignerKey('example.test/kt');


describe.each(dialectCases())('TransparencyLog on $name', ({ open }) => {
  let db: Db;
  afterEach(async () => db?.close());

  it('coalesces concurrent appends into few tree updates and returns each caller its indices', async () => {
    db = await open();
    const storage = await SqlLogStorage.open(db, 'example.test/kt');
    const batches: number[] = [];
    const append = storage.append.bind(storage);
    storage.append = (batch: AppendBatch) => {
      batches.push(batch.count);
      return append(batch);
    };
    const log = await TransparencyLog.create(storage, { signerKey: LOG_KEY });
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => log.append([bytes(`a${i}`), bytes(`b${i}`)])));
    expect(batches.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(batches.length).toBeLessThanOrEqual(3);
    const indices = results.map((r) => r.firstIndex).sort((a, b) => a - b);
    expect(indices).toEqual(Array.from({ length: 500 }, (_, i) => 2 * i));
    // Each caller's entries sit at the indices it was given.
    const checkpoint = await log.checkpoint();
    for (const [i, { firstIndex }] of results.entries()) {
      if (i % 50 !== 0) continue;
      const [a, b] = await log.entries(firstIndex, firstIndex + 2);
      expect(new TextDecoder().decode(a)).toBe(`a${i}`);
      expect(new TextDecoder().decode(b)).toBe(`b${i}`);
      verifyInclusion(firstIndex + 1, checkpoint.size, hashLeaf(bytes(`b${i}`)), await log.inclusionProof(firstIndex + 1, checkpoint.size), checkpoint.rootHash);
    }
  });

  it('refuses empty appends, non-byte entries and oversized entries', async () => {
    db = await open();
    const log = await TransparencyLog.open(db, { signerKey: LOG_KEY, maxEntryBytes: 16 });
    await expect(log.append([])).rejects.toMatchObject({ code: 'bad_request' });
    await expect(log.append(['text' as unknown as Uint8Array])).rejects.toMatchObject({ code: 'bad_request' });
    await expect(log.append([bytes('ok'), new Uint8Array(17)])).rejects.toThrow(/entry 1 has 17 bytes; the limit is 16/);
    expect((await log.checkpoint()).size).toBe(0);
    expect(await log.append([new Uint8Array(16)])).toEqual({ firstIndex: 0 });
  });

  it('lets two instances (two server nodes) append to one log without losing or reordering entries', async () => {
    db = await open();
    const nodeA = await TransparencyLog.open(db, { signerKey: LOG_KEY });
    const nodeB = await TransparencyLog.open(db, { signerKey: LOG_KEY });
    const appended: Array<{ entry: string; index: number }> = [];
    for (let round = 0; round < 10; round++) {
      const [a, b] = await Promise.all([nodeA.append([bytes(`A${round}`)]), nodeB.append([bytes(`B${round}`), bytes(`B${round}'`)])]);
      appended.push({ entry: `A${round}`, index: a.firstIndex }, { entry: `B${round}`, index: b.firstIndex }, { entry: `B${round}'`, index: b.firstIndex + 1 });
    }
    const checkpoint = await nodeA.checkpoint();
    expect(checkpoint.size).toBe(30);
    expect(new Set(appended.map((a) => a.index)).size).toBe(30);
    const entries = await nodeB.entries(0, 30);
    for (const { entry, index } of appended) expect(new TextDecoder().decode(entries[index])).toBe(entry);
    const builder = new RootBuilder();
    entries.forEach((e) => builder.addEntry(e));
    expect(builder.root()).toEqual(checkpoint.rootHash);
    expect((await nodeB.checkpoint()).note).toBe(checkpoint.note);
  });

  it('writes one row per entry, and still proves from a log whose older nodes sit in log_nodes (before 0260)', async () => {
    db = await open();
    const first = await TransparencyLog.open(db, { signerKey: LOG_KEY });
    await first.append(Array.from({ length: 37 }, (_, i) => bytes(`e${i}`)));
    expect((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM log_nodes'))!.n).toBe(0);
    // rewrite the first 37 leaves the way the old layout stored them: nodes in log_nodes, none in the leaf row
    const rows = await db.all<{ idx: number; nodes: Uint8Array | null }>('SELECT idx, nodes FROM log_leaves WHERE nodes IS NOT NULL');
    for (const row of rows) {
      const idx = Number(row.idx);
      for (let level = 1; level * 32 <= row.nodes!.length; level++) {
        const index = (idx + 1) / 2 ** level - 1;
        await db.run('INSERT INTO log_nodes (log_id, pos, hash) VALUES (?, ?, ?)', ['example.test/kt', nodePosition(level, index), row.nodes!.subarray((level - 1) * 32, level * 32)]);
      }
    }
    await db.run('UPDATE log_leaves SET nodes = NULL');
    const log = await TransparencyLog.open(db, { signerKey: LOG_KEY });
    await log.append(Array.from({ length: 30 }, (_, i) => bytes(`e${37 + i}`)));
    const checkpoint = await log.checkpoint();
    const builder = new RootBuilder();
    for (let i = 0; i < 67; i++) builder.addEntry(bytes(`e${i}`));
    expect(checkpoint.size).toBe(67);
    expect(checkpoint.rootHash).toEqual(builder.root());
    for (let i = 0; i < 67; i += 3) verifyInclusion(i, 67, hashLeaf(bytes(`e${i}`)), await log.inclusionProof(i, 67), checkpoint.rootHash);
    const old = new RootBuilder();
    for (let i = 0; i < 37; i++) old.addEntry(bytes(`e${i}`));
    verifyConsistency(37, 67, await log.consistencyProof(37, 67), old.root(), checkpoint.rootHash);
    // a missing node is an error, not a wrong proof
    await db.run('DELETE FROM log_nodes');
    await expect(log.inclusionProof(3, 67)).rejects.toThrow(/missing node/);
  });

  it('accepts cosignatures only from configured witnesses, over checkpoints it signed', async () => {
    db = await open();
    const w1 = new CosignatureSigner(generateSignerKey('w1.example', SIGNATURE_COSIGNATURE_V1));
    const stranger = new CosignatureSigner(generateSignerKey('stranger.example', SIGNATURE_COSIGNATURE_V1));
    const log = await TransparencyLog.open(db, { signerKey: LOG_KEY, witnesses: [w1.verifierKey] });
    await log.append([bytes('x'), bytes('y'), bytes('z')]);
    const checkpoint = await log.checkpoint();
    expect(checkpoint.witnesses).toEqual([]);
    expect(await log.witnessedCheckpoint()).toBeUndefined();

    await expect(log.addCosignature(`${checkpoint.note}${stranger.cosign(checkpoint.text)}\n`)).rejects.toMatchObject({ code: 'forbidden' });
    const forged = w1.cosign(checkpoint.text.replace('\n3\n', '\n4\n'));
    await expect(log.addCosignature(`${checkpoint.note}${forged}\n`)).rejects.toMatchObject({ code: 'bad_signature' });
    const otherLog = generateSignerKey('example.test/kt');
    const otherDb = await open();
    try {
      const foreign = await (await TransparencyLog.open(otherDb, { signerKey: otherLog })).checkpoint();
      await expect(log.addCosignature(`${foreign.note}${w1.cosign(foreign.text)}\n`)).rejects.toMatchObject({ code: 'not_found' });
    } finally {
      await otherDb.close();
    }

    expect(await log.addCosignature(`${checkpoint.note}${w1.cosign(checkpoint.text)}\n`)).toEqual(['w1.example']);
    const served = await log.checkpoint();
    expect(served.witnesses).toEqual(['w1.example']);
    expect(openCheckpoint(served.note, log.verifierKey).size).toBe(3);
    expect(requireWitnesses(served.note, [w1.verifierKey], 1)).toHaveLength(1);
    await log.append([bytes('later')]);
    expect((await log.checkpoint()).witnesses).toEqual([]);
    expect((await log.witnessedCheckpoint())?.size).toBe(3);
  });
});
