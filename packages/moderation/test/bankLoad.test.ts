/**
 * Loading a bank's PDQ hashes through the packed fast path (BankStore.pdqHashPages → PdqIndex.addPacked)
 * returns exactly what a brute-force scan over the bank's live signals returns: removals (tombstones)
 * stay out, low-quality bank hashes stay in (quality gates automatic action on the query side only),
 * and every id belongs to its own hash across page boundaries.
 */
import { existsSync, mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '@doublelock/store';
import { dialectCases } from '@doublelock/store/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { BankStore, decimalListToIds, packedHexToWords, prepareSignal } from '../src/bank.ts';
import { LiveBanks } from '../src/check/liveBanks.ts';
import { Matcher } from '../src/matcher.ts';
import { wordsToHex } from '../src/pdqHash.ts';
import { bruteForceSearch } from '../src/pdqIndex.ts';

function xorshift(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** n hashes: random ones, and near duplicates (1–20 bits flipped) of earlier ones so matches cluster. */
function hashes(n: number, seed: number): string[] {
  const next = xorshift(seed);
  const words = new Uint32Array(n * 8);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i > 0 && next() % 3 === 0) {
      words.copyWithin(i * 8, (next() % i) * 8, (next() % i) * 8 + 8);
      for (let f = 1 + (next() % 20); f > 0; f--) {
        const bit = next() % 256;
        words[i * 8 + (bit >> 5)]! ^= 1 << (bit & 31);
      }
    } else for (let w = 0; w < 8; w++) words[i * 8 + w] = next();
    out.push(wordsToHex(words, i * 8));
  }
  return [...new Set(out)];
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe.each(dialectCases())('bank load fast path on $name', ({ open }) => {
  let db: Db | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  it('loads exactly the live PDQ hashes (removals out, low quality in) and matches as brute force does', async () => {
    db = await open();
    const banks = new BankStore(db);
    await banks.createBank('a');
    await banks.createBank('other');
    const values = hashes(1200, 42);
    await banks.putSignals(
      'a',
      values.map((value, i) =>
        prepareSignal({ type: 'pdq', value, quality: i % 5 === 0 ? 20 : 90, removedAt: i % 7 === 0 ? 1000 : null, addedAt: 1 }),
      ),
    );
    await banks.putSignals('a', [prepareSignal({ type: 'url', value: 'terror.example' })]);
    // another bank's hashes interleave ids with this one's and must not leak in
    await banks.putSignals('other', values.slice(0, 50).map((value) => prepareSignal({ type: 'pdq', value })));
    // a removed then re-added hash is live again
    await banks.putSignals('a', [prepareSignal({ type: 'pdq', value: values[7]!, quality: 90 })]);

    const live = await collect(banks.signals('a', { types: ['pdq'] }));
    expect(live.length).toBeGreaterThan(1000);
    expect(live.some((s) => s.quality !== null && s.quality < 50)).toBe(true);

    // pages of 7 cross many boundaries; ids and hashes stay paired and in id order
    const pages = await collect(banks.pdqHashPages('a', 7));
    expect(pages.slice(0, -1).every((p) => p.ids.length === 7)).toBe(true);
    const paged = pages.flatMap((p) => [...p.ids].map((id, i) => ({ id, value: wordsToHex(p.words, i * 8) })));
    expect(paged).toEqual(live.map((s) => ({ id: s.id, value: s.value })));

    const matcher = await Matcher.load(banks, ['a']);
    expect(matcher.size).toBe(live.length + 1);
    const packed = packedHexToWords(live.map((s) => s.value).join(''), live.length);
    const queries = [...values.slice(0, 150), ...hashes(60, 77)];
    let compared = 0;
    for (const q of queries) {
      const qWords = packedHexToWords(q, 1);
      const expected = bruteForceSearch(packed, live.length, qWords, matcher.pdqThreshold)
        .map(([slot, distance]) => ({ signalId: live[slot]!.id, distance }))
        .sort((x, y) => x.distance - y.distance || x.signalId - y.signalId);
      const got = (await matcher.match({ pdq: q, quality: 100 })).map((m) => ({ signalId: m.signalId, distance: m.distance }));
      expect(got, q).toEqual(expected);
      compared += expected.length;
    }
    expect(compared).toBeGreaterThan(150);
  });

  it('reopens its stored index, reconciled with removals, revivals and late commits since; rebuilds it when the bank was replaced', async () => {
    db = await open();
    const banks = new BankStore(db);
    await banks.createBank('b');
    const values = hashes(400, 5);
    await banks.putSignals('b', values.slice(0, 300).map((value) => prepareSignal({ type: 'pdq', value })));
    const dir = mkdtempSync(join(tmpdir(), 'dl-pdq-index-'));
    const indexFile = join(dir, 'pdq.idx');
    const ids = async (q: string, m: Matcher) => (await m.match({ pdq: q, quality: 100 })).map((x) => x.signalId).sort((a, b) => a - b);
    const fresh = async () => Matcher.load(banks, ['b']);
    try {
      const built = await Matcher.load(banks, ['b'], undefined, 31, { indexFile });
      expect(built.pdqFromFile).toBe(false);
      expect(existsSync(indexFile)).toBe(true);
      const reopened = await Matcher.load(banks, ['b'], undefined, 31, { indexFile });
      expect(reopened.pdqFromFile).toBe(true);
      for (const q of values.slice(0, 40)) expect(await ids(q, reopened)).toEqual(await ids(q, built));
      // added since: read from the store into the reopened index
      await banks.putSignals('b', values.slice(300).map((value) => prepareSignal({ type: 'pdq', value })));
      const grown = await Matcher.load(banks, ['b'], undefined, 31, { indexFile });
      expect(grown.pdqFromFile).toBe(true);
      expect(grown.size).toBe(values.length);
      for (const q of values.slice(280, 340)) expect(await ids(q, grown)).toEqual(await ids(q, await fresh()));
      // a removal since: reopened (tombstones reconciled, no scan), the removed hash gone from it
      await banks.removeSignal('b', 'pdq', values[3]!);
      const afterRemoval = await Matcher.load(banks, ['b'], undefined, 31, { indexFile });
      expect(afterRemoval.pdqFromFile).toBe(true);
      expect(afterRemoval.size).toBe(values.length - 1);
      expect(await ids(values[3]!, afterRemoval)).toEqual(await ids(values[3]!, await fresh()));
      // another threshold, or a damaged file: rebuilt, never trusted
      expect((await Matcher.load(banks, ['b'], undefined, 36, { indexFile })).pdqFromFile).toBe(false);
      expect((await Matcher.load(banks, ['b'], undefined, 36, { indexFile })).pdqFromFile).toBe(true);
      truncateSync(indexFile, 5000);
      expect((await Matcher.load(banks, ['b'], undefined, 36, { indexFile })).pdqFromFile).toBe(false);
      // a revival: tombstoned when the file was written (values[3]), live again now: matched again
      await banks.putSignals('b', [prepareSignal({ type: 'pdq', value: values[3]! })]);
      // (the late-commit window shut, so only the tombstone reconciliation can bring it back)
      const revived = await Matcher.load(banks, ['b'], undefined, 36, { indexFile, lateCommits: 0 });
      expect(revived.pdqFromFile).toBe(true);
      expect(revived.size).toBe(values.length);
      expect(await ids(values[3]!, revived)).toEqual(await ids(values[3]!, await fresh()));
      expect(await ids(values[3]!, revived)).not.toEqual([]);
      // a late commit: an id below the file's last one that was not there when it was written (PostgreSQL
      // sequences commit out of order); played by taking a row out before the file and back after it
      const late = (await db.get<Record<string, unknown>>('SELECT * FROM moderation_signals WHERE bank = ? AND value = ?', ['b', values[7]!]))!;
      await db.run('DELETE FROM moderation_signals WHERE id = ?', [late.id as number]);
      truncateSync(indexFile, 0);
      expect((await Matcher.load(banks, ['b'], undefined, 36, { indexFile })).pdqFromFile).toBe(false);
      const columns = Object.keys(late);
      await db.run(`INSERT INTO moderation_signals (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`, columns.map((c) => late[c] as string | number | null));
      const withLate = await Matcher.load(banks, ['b'], undefined, 36, { indexFile });
      expect(withLate.pdqFromFile).toBe(true);
      expect(await ids(values[7]!, withLate)).toEqual(await ids(values[7]!, await fresh()));
      expect(await ids(values[7]!, withLate)).toContain(Number(late.id));
      // the bank emptied and refilled: its ids are all new, the file is not adopted
      await db.run("DELETE FROM moderation_signals WHERE bank = 'b'");
      await banks.putSignals('b', values.slice(0, 50).map((value) => prepareSignal({ type: 'pdq', value })));
      const refilled = await Matcher.load(banks, ['b'], undefined, 36, { indexFile });
      expect(refilled.pdqFromFile).toBe(false);
      expect(refilled.size).toBe(50);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a running matcher follows revivals: a signal removed before the load (or before a refresh saw it) matches again after the next refresh, once', async () => {
    db = await open();
    const banks = new BankStore(db);
    await banks.createBank('a');
    // four random hashes (~128 bits apart): each query matches its own signal only
    const next = xorshift(5);
    const [p1, p2, p3, p4] = Array.from({ length: 4 }, () => wordsToHex(Uint32Array.from({ length: 8 }, () => next()), 0));
    await banks.putSignals('a', [p1!, p2!, p3!].map((value) => prepareSignal({ type: 'pdq', value, quality: 90 })));
    await banks.addSignal('a', { type: 'md5', value: 'e'.repeat(32) });
    await banks.addSignal('a', { type: 'url', value: 'revived.example' });
    await banks.addSignal('a', { type: 'text', value: 'revivedrule' });
    // removed before the load: not in the matcher the load builds
    await banks.removeSignal('a', 'pdq', p1!);
    await banks.removeSignal('a', 'md5', 'e'.repeat(32));
    await banks.removeSignal('a', 'url', 'revived.example');
    await banks.removeSignal('a', 'text', 'revivedrule');
    const live = await LiveBanks.open(db);
    const hits = async (q: Parameters<LiveBanks['matchHashes']>[0]) => (await live.matchHashes(q)).map((m) => m.value);
    expect(await hits({ pdq: p1!, quality: 90 })).toEqual([]);
    expect(await live.matchText('a revivedrule here')).toEqual([]);
    // p2 removed after the load (still in the index, refused by the store's row), p4 added and removed
    // between two refreshes (the refresh sees it removed and skips it)
    await banks.removeSignal('a', 'pdq', p2!);
    await banks.addSignal('a', { type: 'pdq', value: p4!, quality: 90 });
    await banks.removeSignal('a', 'pdq', p4!);
    await live.refresh();
    expect(await hits({ pdq: p2!, quality: 90 })).toEqual([]);
    expect(await hits({ pdq: p4!, quality: 90 })).toEqual([]);

    for (const value of [p1!, p2!, p4!]) await banks.addSignal('a', { type: 'pdq', value, quality: 90 });
    await banks.addSignal('a', { type: 'md5', value: 'e'.repeat(32) });
    await banks.addSignal('a', { type: 'url', value: 'revived.example' });
    await banks.addSignal('a', { type: 'text', value: 'revivedrule' });
    // before the refresh the revived signals the load never held are still missing
    expect(await hits({ pdq: p1!, quality: 90 })).toEqual([]);
    await live.refresh();
    for (const value of [p1!, p2!, p3!, p4!]) expect(await hits({ pdq: value, quality: 90 })).toEqual([value]);
    expect(await hits({ md5: 'e'.repeat(32) })).toEqual(['e'.repeat(32)]);
    expect(await hits({ url: 'https://www.revived.example/x' })).toEqual(['revived.example']);
    expect((await live.matchText('a revivedrule here')).map((m) => m.signal.value)).toEqual(['revivedrule']);
    // a second refresh and a second revival cycle add nothing twice
    await live.refresh();
    await banks.removeSignal('a', 'pdq', p1!);
    await banks.addSignal('a', { type: 'pdq', value: p1!, quality: 90 });
    await live.refresh();
    expect(await hits({ pdq: p1!, quality: 90 })).toEqual([p1!]);
    expect(await hits({ md5: 'e'.repeat(32) })).toHaveLength(1);
    expect([live.localSize, live.text.size]).toEqual([6, 1]);
  });

  it('an empty bank loads no hashes', async () => {
    db = await open();
    const banks = new BankStore(db);
    await banks.createBank('empty');
    expect(await collect(banks.pdqHashPages('empty'))).toEqual([]);
    expect((await Matcher.load(banks, ['empty'])).size).toBe(0);
  });
});

describe('packed page decoding', () => {
  it('decodes hex pages into big-endian words and rejects bad pages', () => {
    const h = 'd8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22';
    expect(wordsToHex(packedHexToWords(h + h.toUpperCase(), 2), 8)).toBe(h);
    expect(() => packedHexToWords(h.slice(0, 63) + 'g', 1)).toThrow(/hex digits/);
    expect(() => packedHexToWords(h, 2)).toThrow(/hex digits/);
    expect([...decimalListToIds('12,13,4294967295', 3)]).toEqual([12, 13, 4294967295]);
    expect(() => decimalListToIds('12,,13', 3)).toThrow(/malformed/);
    expect(() => decimalListToIds('12,13', 3)).toThrow(/expected 3/);
    expect(() => decimalListToIds('4294967296', 1)).toThrow(/malformed/);
  });
});
