/**
 * The hub domain on both stores (SQLite and PostgreSQL): writes go to the log first and the tables follow;
 * the feed pages verify against the signed checkpoint; the disputed aggregate; a projection wiped and
 * rebuilt from the log; and a platform's sync into banks on the same dialect, resumed from its state.
 */
import { openCheckpoint, RootBuilder, verifyConsistency } from '@doublelock/log/verifier';
import { PdqHash } from '@doublelock/moderation';
import { fromBase64Url } from '@doublelock/protocol';
import { dialectCases } from '@doublelock/store/testing';
import { describe, expect, it } from 'vitest';
import { decodeEntry, Hub } from '../src/index.ts';

const pdq = (seed: number) => {
  const b = new Uint8Array(32);
  let s = seed * 2654435761 + 3;
  for (let i = 0; i < 32; i++) b[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return PdqHash.fromBytes(b).toHex();
};

describe.each(dialectCases())('the hub on $name', ({ open }) => {
  it('logs every change first, applies it, serves it verifiably, and rebuilds from the log', async () => {
    const db = await open();
    try {
      const hub = await Hub.open(db);
      const keys = await Promise.all(['a', 'b', 'c'].map(async (m) => (await hub.members.add(`member-${m}`)).key));
      const [a, b, c] = await Promise.all(keys.map(async (k) => (await hub.members.authenticate(k))!));
      const ref = { bank: 'tvec', type: 'pdq' as const, value: pdq(1) };
      expect((await hub.submit(a!, [{ ...ref, labels: ['tvec:glorification'] }, { bank: 'tvec', type: 'md5', value: 'A'.repeat(32) }])).results.map((r) => r.status)).toEqual(['added', 'added']);
      expect((await hub.submit(a!, [{ ...ref, labels: ['tvec:glorification'] }])).results[0]!.status).toBe('unchanged');
      expect((await hub.submit(b!, [{ ...ref }])).results[0]!.status).toBe('recorded');
      await hub.relabel(a!, ref, ['tvec:publication']);
      await hub.withdraw(a!, [{ bank: 'tvec', type: 'md5', value: 'a'.repeat(32) }]);
      await hub.opine(b!, ref, { feedback: 'false_positive' });
      await hub.opine(c!, ref, { opinion: 'negative' });
      expect((await hub.signal(ref))!.disputed).toBe(true);
      await hub.opine(c!, ref, { opinion: 'positive' });
      expect((await hub.signal(ref))!.disputed).toBe(false); // c changed its mind: one dissenter is not a dispute
      const page = await hub.feed(0, 100);
      const cp = openCheckpoint(page.checkpoint, hub.logKey);
      const builder = new RootBuilder();
      for (const e of page.entries) builder.addEntry(new TextEncoder().encode(e));
      expect(builder.root()).toEqual(cp.rootHash);
      const half = await hub.feed(0, 3);
      const partial = new RootBuilder();
      for (const e of half.entries) partial.addEntry(new TextEncoder().encode(e));
      verifyConsistency(3, half.size, half.proof.map(fromBase64Url), partial.root(), openCheckpoint(half.checkpoint, hub.logKey).rootHash);
      expect(page.entries.map((e) => decodeEntry(e).op)).toEqual(['signal', 'signal', 'opinion', 'signal', 'withdraw', 'opinion', 'opinion', 'signal', 'opinion', 'signal']);
      const before = await db.all('SELECT bank, signal_type, value, labels, member, withdrawn_at, disputed, log_index FROM hub_signals ORDER BY log_index');
      for (const t of ['hub_signals', 'hub_opinions']) await db.run(`DELETE FROM ${t}`);
      await db.run("UPDATE hub_state SET value = 0 WHERE name = 'applied'");
      const again = await Hub.open(db);
      expect(await db.all('SELECT bank, signal_type, value, labels, member, withdrawn_at, disputed, log_index FROM hub_signals ORDER BY log_index')).toEqual(before);
      expect((await again.signal(ref))!.opinions.map((o) => o.member)).toEqual(['member-b', 'member-c']);
    } finally {
      await db.close();
    }
  });
});
