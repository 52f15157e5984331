/** Oversight from log entries alone: unsealed warrants are checked against every release made under them. */
import { lengthPrefixed, toBase64Url } from '@doublelock/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS } from '../src/epoch.ts';
import { RELEASE_ENTRY_LABEL, WARRANT_ENTRY_LABEL, messageDigest, releaseLogEntry, signReleaseRecord, unsealBy, unsealLogEntry, warrantLogEntry } from '../src/logEntries.ts';
import { randomBytes } from '@noble/hashes/utils.js';
import { entryFields, lawfulAccessStatistics } from '../src/oversight.ts';
import { LawfulAccessWorld } from '../src/testing.ts';
import { commitToWarrant } from '../src/warrant.ts';

const ISSUED = Date.UTC(2026, 10, 23, 9);
let world: LawfulAccessWorld;
beforeAll(async () => {
  world = await LawfulAccessWorld.create({ threshold: 2, custodians: 3 });
});
afterAll(async () => world.close());

function release(custodian: number, commitment: Uint8Array, messageId: string, releasedAt: number) {
  const signed = signReleaseRecord(
    { custodian, warrantCommitment: toBase64Url(commitment), messageDigest: messageDigest(commitment, messageId), requestId: `r-${custodian}-${messageId}-${releasedAt}`.padEnd(22, 'x'), epoch: 1, releasedAt },
    world.custodians[custodian - 1]!.signing.secretKey,
  );
  return releaseLogEntry(signed);
}

describe('lawfulAccessStatistics', () => {
  it('reads an entry by its label and field count, and skips anything else', () => {
    const entry = lengthPrefixed(RELEASE_ENTRY_LABEL, 'a', 'bc');
    expect(entryFields(entry, RELEASE_ENTRY_LABEL, 3)!.slice(1).map((f) => new TextDecoder().decode(f))).toEqual(['a', 'bc']);
    expect(entryFields(entry, WARRANT_ENTRY_LABEL, 3)).toBeUndefined();
    expect(entryFields(entry, RELEASE_ENTRY_LABEL, 4)).toBeUndefined();
    expect(entryFields(entry.subarray(0, entry.length - 1), RELEASE_ENTRY_LABEL, 3)).toBeUndefined();
  });

  it('counts t-custodian releases as decrypted messages and checks them against the unsealed warrant', () => {
    const signed = world.approve(world.issue(world.draft({ issuedAt: ISSUED, limits: { maxMessages: 1 }, window: { start: ISSUED, end: ISSUED + 10 * DAY_MS } })), ISSUED);
    const { commitment, nonce } = commitToWarrant(signed.warrant);
    const inForce = ISSUED + DAY_MS;
    const after = ISSUED + 20 * DAY_MS;
    const entries = [
      new TextEncoder().encode('a key-transparency entry that is not ours'),
      warrantLogEntry(commitment, signed.warrant),
      release(1, commitment, 'm1', inForce),
      release(2, commitment, 'm1', inForce + 1),
      release(1, commitment, 'm2', after),
      release(3, commitment, 'm2', after),
      release(1, commitment, 'm3', inForce), // one custodian only: not decrypted
      unsealLogEntry(signed, nonce),
    ];
    const stats = lawfulAccessStatistics(entries, world.trust, unsealBy(signed.warrant));
    expect(stats.warrantsByMonth).toEqual([{ month: '2026-11', issued: 1, modified: 0 }]);
    expect(stats.decryptedByMonth).toEqual([
      { month: '2026-11', messages: 1 },
      { month: '2026-12', messages: 1 },
    ]);
    expect(stats.warrants[0]).toMatchObject({ messagesDecrypted: 2, releases: 5, unsealed: { id: signed.warrant.id, maxMessages: 1 } });
    expect(stats.anomalies).toEqual([
      'entry 4: release under warrant ' + signed.warrant.id + ' when it was not in force (expired)',
      'entry 5: release under warrant ' + signed.warrant.id + ' when it was not in force (expired)',
      `warrant ${signed.warrant.id}: 2 messages decrypted, limit 1`,
    ]);
  });

  it('unsealing: flags an overdue opening, refuses forged, mismatched and wrongly signed ones, flags an early one', () => {
    const signed = world.approve(world.issue(world.draft({ issuedAt: ISSUED, secrecyDays: 30, window: { start: ISSUED, end: ISSUED + 10 * DAY_MS } })), ISSUED);
    const { commitment, nonce } = commitToWarrant(signed.warrant);
    const deadline = unsealBy(signed.warrant);
    expect(deadline).toBe(Math.ceil((ISSUED + 40 * DAY_MS) / DAY_MS) * DAY_MS);
    const logged = warrantLogEntry(commitment, signed.warrant);
    const overdue = (entries: Uint8Array[], asOf: number) => lawfulAccessStatistics(entries, world.trust, asOf).overdueUnsealings.map((o) => o.commitment);
    const c = toBase64Url(commitment);
    // Nobody unseals: not overdue on the day, nor within the day's grace; overdue after it.
    expect(overdue([logged], deadline + DAY_MS)).toEqual([]);
    expect(overdue([logged], deadline + DAY_MS + 1)).toEqual([c]);
    expect(lawfulAccessStatistics([logged], world.trust, deadline + 3 * DAY_MS).overdueUnsealings[0]).toMatchObject({ commitment: c, daysOverdue: 3, unsealBy: deadline });
    // A mismatched nonce, another warrant under this one's nonce, and forged signatures count for nothing.
    const other = world.approve(world.issue(world.draft({ issuedAt: ISSUED })), ISSUED);
    const forged = { ...signed, issue: { ...signed.issue, signature: other.issue.signature } };
    const bad = [unsealLogEntry(signed, randomBytes(32)), unsealLogEntry(other, nonce), unsealLogEntry(forged, nonce)];
    const stats = lawfulAccessStatistics([logged, ...bad], world.trust, deadline + 2 * DAY_MS);
    expect(stats.overdueUnsealings.map((o) => o.commitment)).toEqual([c]);
    expect(stats.anomalies).toEqual([
      expect.stringMatching(/^entry 1: unsealing refused: .* open no warrant commitment in the log/),
      expect.stringMatching(/^entry 2: unsealing refused: .* open no warrant commitment in the log/),
      expect.stringMatching(/^entry 3: unsealing refused: .* signatures that do not verify/),
    ]);
    // The genuine opening, in time: no longer overdue, nothing flagged.
    const opened = lawfulAccessStatistics([logged, unsealLogEntry(signed, nonce)], world.trust, deadline + 2 * DAY_MS);
    expect([opened.overdueUnsealings, opened.anomalies]).toEqual([[], []]);
    expect(opened.warrants[0]).toMatchObject({ unsealBy: new Date(deadline).toISOString().slice(0, 10), unsealed: { id: signed.warrant.id } });
    // Published before the secrecy period ended: flagged as early.
    expect(lawfulAccessStatistics([logged, unsealLogEntry(signed, nonce)], world.trust, deadline - 1).anomalies).toEqual([
      expect.stringMatching(new RegExp(`^entry 1: warrant ${signed.warrant.id} was unsealed before its secrecy period ended`)),
    ]);
  });

  it('flags releases for warrants the log never saw', () => {
    const { commitment } = commitToWarrant(world.draft({ issuedAt: ISSUED }));
    const stats = lawfulAccessStatistics([release(1, commitment, 'm', ISSUED)], world.trust);
    expect(stats.anomalies).toEqual([expect.stringMatching(/not in the log/)]);
    expect(stats.decryptedByMonth).toEqual([]);
  });
});
