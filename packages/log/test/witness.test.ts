/**
 * The witness: cosigns a log's checkpoints as the log grows consistently, persists what it saw,
 * and refuses a split view (a forked log signed with the same key), a rewritten root, or a rollback.
 */
import { openDb, type Db } from '@doublelock/store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileWitnessState, generateSignerKey, NoteSigner, SplitViewError, StaleCheckpointError, TransparencyLog, Witness } from '../src/index.ts';
import { requireWitnesses, SIGNATURE_COSIGNATURE_V1 } from '../src/verifier/index.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const LOG_KEY = generateSignerKey('example.test/warrants');
const WITNESS_KEY = generateSignerKey('witness.example/w1', SIGNATURE_COSIGNATURE_V1);

describe('Witness', () => {
  let dir: string;
  const dbs: Db[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dl-witness-'));
  });
  afterEach(async () => {
    await Promise.all(dbs.splice(0).map((db) => db.close()));
    rmSync(dir, { recursive: true, force: true });
  });
  const openLog = async (): Promise<TransparencyLog> => {
    const db = await openDb({ sqlitePath: ':memory:' });
    dbs.push(db);
    return TransparencyLog.open(db, { signerKey: LOG_KEY });
  };
  const witness = (log: TransparencyLog) => new Witness({ signerKey: WITNESS_KEY, logs: [log.verifierKey], state: new FileWitnessState(join(dir, 'state.json')) });

  it('cosigns a growing log after checking consistency, and remembers across restarts', async () => {
    const log = await openLog();
    await log.append([bytes('warrant 1'), bytes('warrant 2')]);
    const first = await log.checkpoint();
    const w = witness(log);
    const cosigned = await w.cosign(first.note, []);
    expect(requireWitnesses(cosigned.note, [w.verifierKey], 1)[0]!.name).toBe('witness.example/w1');

    await log.append([bytes('warrant 3')]);
    const second = await log.checkpoint();
    const restarted = witness(log); // a new process reading the same state file
    expect((await restarted.lastSeen(log.origin))?.size).toBe(2);
    await expect(restarted.cosign(second.note, [])).rejects.toThrow(/consistency proof from size 2 is required/);
    const ok = await restarted.cosign(second.note, await log.consistencyProof(2, 3));
    expect(ok.size).toBe(3);
    expect((await restarted.lastSeen(log.origin))?.size).toBe(3);
    // Re-cosigning the same checkpoint is fine; an older one is refused.
    await expect(restarted.cosign(second.note, [])).resolves.toMatchObject({ size: 3 });
    await expect(restarted.cosign(first.note, [])).rejects.toThrow(StaleCheckpointError);
  });

  it('refuses a split view: a fork of the log signed with the same key', async () => {
    const honest = await openLog();
    const fork = await openLog();
    await honest.append([bytes('warrant 1'), bytes('warrant 2'), bytes('warrant 3')]);
    await fork.append([bytes('warrant 1'), bytes('warrant 2 (edited)'), bytes('warrant 3')]);
    const w = witness(honest);
    await w.cosign((await honest.checkpoint()).note, []);

    // Same size, different root.
    const forked = (await fork.checkpoint()).note;
    await expect(w.cosign(forked, [])).rejects.toThrow(/SPLIT VIEW: two different roots for size 3/);
    await expect(w.cosign(forked, [])).rejects.toBeInstanceOf(SplitViewError);
    // Larger, but not an extension of what the witness saw: the fork's own proof cannot bridge it.
    await fork.append([bytes('warrant 4')]);
    await expect(w.cosign((await fork.checkpoint()).note, await fork.consistencyProof(3, 4))).rejects.toThrow(/SPLIT VIEW: size 4 is not consistent with size 3/);
    expect((await w.lastSeen(honest.origin))?.size).toBe(3);
  });

  it('refuses checkpoints not signed by a log it witnesses', async () => {
    const log = await openLog();
    await log.append([bytes('x')]);
    const otherKey = new NoteSigner(generateSignerKey('example.test/warrants')).verifierKey; // same name, another key
    const impostor = new Witness({ signerKey: WITNESS_KEY, logs: [otherKey], state: new FileWitnessState(join(dir, 'other.json')) });
    await expect(impostor.cosign((await log.checkpoint()).note, [])).rejects.toThrow(/not signed by any known key/);
  });
});
