/** The custodian's store on SQLite and PostgreSQL: epochs and their erasure, replay records, counts, revisions, cancellations. */
import { DAY_MS, type SignedReleaseRecord } from '@doublelock/lawful-access';
import type { Db } from '@doublelock/store';
import { dialectCases } from '@doublelock/store/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { CustodianStore } from '../src/custodianStore.ts';

const release = (requestId: string): SignedReleaseRecord => ({
  record: { custodian: 1, warrantCommitment: 'A'.repeat(43), messageDigest: 'B'.repeat(43), requestId, epoch: 5, releasedAt: 1 },
  signature: 'sig',
});

describe.each(dialectCases())('CustodianStore on $name', ({ open }) => {
  let db: Db;
  afterEach(async () => db?.close());

  it('stores an epoch once and erases its share after retention, not before', async () => {
    db = await open();
    const store = new CustodianStore(db);
    expect(await store.saveEpoch(10, new Uint8Array(32).fill(1), '{}', new Uint8Array(32).fill(7), 0)).toBe(true);
    expect(await store.saveEpoch(10, new Uint8Array(32).fill(2), '{}', new Uint8Array(32).fill(8), 0)).toBe(false);
    expect((await store.epoch(10))!.share).toEqual(new Uint8Array(32).fill(7));
    const erasure = 11 * DAY_MS + 31 * DAY_MS;
    expect(await store.eraseExpired(erasure - 1, 31, DAY_MS)).toEqual([]);
    expect(await store.eraseExpired(erasure, 31, DAY_MS)).toEqual([10]);
    const row = await store.epoch(10);
    expect(row!.share).toBeNull();
    expect(row!.erasedAt).toBe(erasure);
    expect(row!.publicKey).toEqual(new Uint8Array(32).fill(1)); // the public record stays for audit
    expect(await store.eraseExpired(erasure + DAY_MS, 31, DAY_MS)).toEqual([]);
  });

  it('records releases: request ids, distinct messages per warrant, the highest revision', async () => {
    db = await open();
    const store = new CustodianStore(db);
    await db.transaction(async (tx) => {
      await store.recordRelease(tx, { warrantId: 'W-1', revision: 1, messageId: 'm1', requestId: 'r1', record: release('r1'), now: 1 });
      await store.recordRelease(tx, { warrantId: 'W-1', revision: 0, messageId: 'm1', requestId: 'r2', record: release('r2'), now: 2 });
      await store.recordRelease(tx, { warrantId: 'W-1', revision: 1, messageId: 'm2', requestId: 'r3', record: release('r3'), now: 3 });
    });
    expect(await store.requestSeen(db, 'r2')).toBe(true);
    expect(await store.requestSeen(db, 'r9')).toBe(false);
    expect(await store.releasedMessages(db, 'W-1')).toBe(2);
    expect(await store.messageReleased(db, 'W-1', 'm2')).toBe(true);
    expect(await store.highestRevision(db, 'W-1')).toBe(1);
    expect(await store.highestRevision(db, 'W-2')).toBeUndefined();
    await expect(db.transaction((tx) => store.recordRelease(tx, { warrantId: 'W-1', revision: 1, messageId: 'm3', requestId: 'r1', record: release('r1'), now: 4 }))).rejects.toThrow();
    expect((await store.releases()).map((r) => r.record.record.requestId)).toEqual(['r1', 'r2', 'r3']);
    expect((await store.releases(2)).map((r) => r.record.record.requestId)).toEqual(['r3']);
  });

  it('keeps every cancellation (by nonce) and refusal per warrant', async () => {
    db = await open();
    const store = new CustodianStore(db);
    const c = { warrantId: 'W-1', revision: 0, nonce: 'A'.repeat(22), cancelledAt: 5, signer: 'sos-1', signature: 'x' };
    await store.saveCancellation(c);
    await store.saveCancellation({ ...c, cancelledAt: 9 }); // same nonce: the same cancellation
    const later = { ...c, revision: 1, nonce: 'B'.repeat(22) };
    await store.saveCancellation(later);
    expect(await store.cancellations(db, 'W-1')).toEqual([c, later]);
    expect(await store.cancellations(db, 'W-2')).toEqual([]);
    const refusal = { warrantId: 'W-2', warrantDigest: 'C'.repeat(43), decidedAt: 1, reasonsDigest: 'D'.repeat(43), signer: 'jc-1', signature: 'y' };
    await store.saveRefusal(refusal);
    await store.saveRefusal(refusal);
    expect(await store.refusals(db, 'W-2')).toEqual([refusal]);
    expect(await store.refusals(db, 'W-1')).toEqual([]);
  });
});
