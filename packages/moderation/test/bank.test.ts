import { Readable } from 'node:stream';
import type { Db, SqlValue } from '@doublelock/store';
import { dialectCases } from '@doublelock/store/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { BankStore, prepareSignal, writeSignals } from '../src/bank.ts';
import { csvRecords, readBankSignals, writeBankSignals, type BankFormat, type ImportRow } from '../src/bankFormats.ts';
import { LiveBanks } from '../src/check/liveBanks.ts';
import { Matcher } from '../src/matcher.ts';
import { PdqHash } from '../src/pdqHash.ts';
import { formatVpdqSignal } from '../src/vpdqFormat.ts';

const H1 = 'd8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22';
const H1_NEAR = 'd8f8f0cee0f4a84f0637022a038f67f0b36e2ed596631e1d33e6339c4e9c9b22'; // 2 bits away
const H2 = '54a9f7c321d1443c43ba566e21d4a13989a3553f1472611cbbc5fda59e03b677';
const VPDQ = formatVpdqSignal([
  { frame: 0, quality: 100, hash: PdqHash.fromHex(H1), timestamp: 0 },
  { frame: 1, quality: 90, hash: PdqHash.fromHex(H2), timestamp: 1 },
]);

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function text(chunks: AsyncIterable<string>): Promise<string> {
  return (await collect(chunks)).join('');
}

function chunked(s: string, size: number): AsyncIterable<string> {
  return Readable.from(Array.from({ length: Math.ceil(s.length / size) }, (_, i) => s.slice(i * size, (i + 1) * size)));
}

function ok(rows: ImportRow[]) {
  return rows.map((r) => {
    if ('error' in r) throw new Error(`line ${r.line}: ${r.error}`);
    return r.signal;
  });
}

describe.each(dialectCases())('banks on $name', ({ open }) => {
  let db: Db;
  afterEach(async () => db?.close());

  it('stores signals with labels and source, tombstones removals and revives them', async () => {
    db = await open();
    const banks = new BankStore(db);
    await banks.createBank('gifct', 'shared hashes', 1000);
    const pdq = await banks.addSignal('gifct', { type: 'pdq', value: H1.toUpperCase(), labels: ['tvec:glorification', 'basis:un_designated'], source: 'gifct-hsdb', quality: 100, addedAt: 2000 });
    expect(pdq).toMatchObject({ bank: 'gifct', type: 'pdq', value: H1, labels: ['basis:un_designated', 'tvec:glorification'], source: 'gifct-hsdb', quality: 100, addedAt: 2000, removedAt: null });
    await banks.addSignal('gifct', { type: 'url', value: 'HTTPS://Terror.example/videos/*', addedAt: 2000 });
    await banks.addSignal('gifct', { type: 'md5', value: '900150983CD24FB0D6963F7D28E17F72', addedAt: 2000 });
    await banks.addSignal('gifct', { type: 'vpdq', value: VPDQ, addedAt: 2000 });
    // adding the same value again updates it in place
    await banks.addSignal('gifct', { type: 'pdq', value: H1, labels: ['tvec:graphic_violence'], addedAt: 3000 });
    expect((await banks.getSignal('gifct', 'pdq', H1))?.labels).toEqual(['tvec:graphic_violence']);
    expect((await banks.getSignal('gifct', 'pdq', H1))?.addedAt).toBe(2000);

    expect(await banks.removeSignal('gifct', 'md5', '900150983cd24fb0d6963f7d28e17f72', 4000)).toBe(true);
    expect(await banks.removeSignal('gifct', 'md5', '900150983cd24fb0d6963f7d28e17f72', 4000)).toBe(false);
    const [summary] = await banks.listBanks();
    expect(summary).toMatchObject({ name: 'gifct', description: 'shared hashes', counts: { pdq: 1, url: 1, vpdq: 1 }, removed: 1 });
    expect((await collect(banks.signals('gifct'))).map((s) => s.type).sort()).toEqual(['pdq', 'url', 'vpdq']);
    expect((await collect(banks.signals('gifct', { includeRemoved: true }))).find((s) => s.type === 'md5')?.removedAt).toBe(4000);

    await banks.addSignal('gifct', { type: 'md5', value: '900150983cd24fb0d6963f7d28e17f72', addedAt: 5000 });
    expect(await banks.getSignal('gifct', 'md5', '900150983cd24fb0d6963f7d28e17f72')).toMatchObject({ removedAt: null, addedAt: 5000 });
  });

  it('writes many signals in multi-row statements: ids in input order, a repeated value written in order, new and revived ones marked fresh', async () => {
    db = await open();
    const banks = new BankStore(db);
    await banks.createBank('sync');
    const hashes = Array.from({ length: 2500 }, (_, i) => i.toString(16).padStart(64, '0'));
    const first = await db.transaction((tx) => writeSignals(tx, 'sync', hashes.map((value) => prepareSignal({ type: 'pdq', value, addedAt: 1000 }))));
    expect(first).toHaveLength(2500);
    expect(first.every((w) => w.fresh)).toBe(true);
    const stored = await banks.signalsBetween('sync', 0, Number.MAX_SAFE_INTEGER);
    expect(first.map((w) => w.id)).toEqual(hashes.map((h) => stored.find((s) => s.value === h)!.id));
    await banks.removeSignal('sync', 'pdq', hashes[1]!, 1500);
    // live → updated (not fresh); tombstoned → revived (fresh); new (fresh); the same value twice: the later write wins
    const again = await db.transaction((tx) =>
      writeSignals(tx, 'sync', [
        prepareSignal({ type: 'pdq', value: hashes[0]!, labels: ['tvec:glorification'], addedAt: 2000 }),
        prepareSignal({ type: 'pdq', value: hashes[1]!, addedAt: 2000 }),
        prepareSignal({ type: 'pdq', value: H1, labels: ['tvec:glorification'], addedAt: 2000 }),
        prepareSignal({ type: 'pdq', value: H1, labels: ['tvec:graphic_violence'], addedAt: 2001 }),
      ]),
    );
    expect(again.map((w) => w.fresh)).toEqual([false, true, true, false]);
    expect(again[0]!.id).toBe(first[0]!.id);
    expect(again[2]!.id).toBe(again[3]!.id);
    expect(await banks.getSignal('sync', 'pdq', hashes[0]!)).toMatchObject({ labels: ['tvec:glorification'], addedAt: 1000 });
    expect(await banks.getSignal('sync', 'pdq', hashes[1]!)).toMatchObject({ removedAt: null, addedAt: 2000 });
    expect(await banks.getSignal('sync', 'pdq', H1)).toMatchObject({ labels: ['tvec:graphic_violence'], addedAt: 2000 });
  });

  it('live banks hold a signal committed during their load once: the next refresh does not add it again', async () => {
    db = await open();
    const banks = new BankStore(db);
    await banks.createBank('gifct');
    await banks.addSignal('gifct', { type: 'pdq', value: H1 });
    await banks.addSignal('gifct', { type: 'md5', value: 'a'.repeat(32) });
    await banks.addSignal('gifct', { type: 'text', value: 'kalashnikovfan' });
    // the store as the load sees it: while the PDQ hashes are read, a sync commits three more signals
    let arrived = false;
    const during = async (sql: string) => {
      if (arrived || !sql.includes('string_agg(value')) return;
      arrived = true;
      await banks.putSignals('gifct', [prepareSignal({ type: 'pdq', value: H2 }), prepareSignal({ type: 'md5', value: 'b'.repeat(32) }), prepareSignal({ type: 'text', value: 'martyrdomclub' })]);
    };
    const busy = {
      dialect: db.dialect,
      all: async (sql: string, params?: readonly SqlValue[]) => {
        await during(sql);
        return db.all(sql, params);
      },
      get: async (sql: string, params?: readonly SqlValue[]) => {
        await during(sql);
        return db.get(sql, params);
      },
      run: (sql: string, params?: readonly SqlValue[]) => db.run(sql, params),
      transaction: db.transaction.bind(db),
      close: () => db.close(),
    } as Db;
    const live = await LiveBanks.open(busy);
    expect(arrived).toBe(true);
    expect(live.localSize).toBe(4);
    expect(live.text.size).toBe(2);
    expect(await live.refresh()).toBe(0);
    expect(live.localSize).toBe(4);
    // one arriving after the load is picked up by the refresh, once
    await banks.addSignal('gifct', { type: 'md5', value: 'c'.repeat(32) });
    expect(await live.refresh()).toBe(1);
    expect(await live.refresh()).toBe(0);
    expect(live.localSize).toBe(5);
    expect(await live.matchHashes({ md5: 'b'.repeat(32) })).toHaveLength(1);
  });

  it('refuses bad names, values, labels and unknown banks with precise errors', async () => {
    db = await open();
    const banks = new BankStore(db);
    await expect(banks.createBank('no spaces')).rejects.toThrow(/bank name/);
    await banks.createBank('b');
    await expect(banks.addSignal('b', { type: 'pdq', value: 'abc' })).rejects.toThrow(/64 hex digits/);
    await expect(banks.addSignal('b', { type: 'pdq', value: H1, labels: ['terrorism'] })).rejects.toThrow(/unknown label "terrorism"/);
    await expect(banks.addSignal('nope', { type: 'pdq', value: H1 })).rejects.toThrow(/no bank named "nope"/);
    await expect(banks.addSignal('b', { type: 'url', value: 'javascript:alert(1)' })).rejects.toThrow(/http and https/);
  });

  it('exports and re-imports every signal losslessly in CSV and JSON (and live ones in TXT)', async () => {
    db = await open();
    const banks = new BankStore(db);
    await banks.createBank('src');
    await banks.putSignals('src', [
      prepareSignal({ type: 'pdq', value: H1, labels: ['tvec:glorification', 'custom:op_x'], source: 'hub, "west"', quality: 88, addedAt: Date.UTC(2024, 0, 2) }),
      prepareSignal({ type: 'vpdq', value: VPDQ, labels: ['incident:cip'], addedAt: Date.UTC(2024, 0, 3) }),
      prepareSignal({ type: 'sha256', value: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', addedAt: Date.UTC(2024, 0, 4), removedAt: Date.UTC(2024, 1, 1) }),
      prepareSignal({ type: 'url', value: 'terror.example', labels: ['review:false_positive'], addedAt: Date.UTC(2024, 0, 5) }),
    ]);
    const original = await collect(banks.signals('src', { includeRemoved: true }));
    const strip = (s: (typeof original)[number]) => ({ ...s, id: 0, bank: '' });
    for (const format of ['csv', 'json'] as BankFormat[]) {
      const exported = await text(writeBankSignals('src', banks.signals('src', { includeRemoved: true }), format));
      await banks.createBank(`copy-${format}`);
      // small chunks, so quoted fields and escapes straddle chunk boundaries
      await banks.putSignals(`copy-${format}`, ok(await collect(readBankSignals(chunked(exported, 7), format))));
      expect((await collect(banks.signals(`copy-${format}`, { includeRemoved: true }))).map(strip), format).toEqual(original.map(strip));
    }
    const txt = await text(writeBankSignals('src', banks.signals('src'), 'txt'));
    expect(txt.split('\n').filter(Boolean)).toHaveLength(3);
    expect(ok(await collect(readBankSignals(chunked(txt, 5), 'txt'))).map((s) => s.type)).toEqual(['pdq', 'vpdq', 'url']);
  });

  it('matches content signals against loaded banks, keeps low-quality PDQ out of automatic action, follows removals', async () => {
    db = await open();
    const banks = new BankStore(db);
    await banks.createBank('tvec');
    await banks.addSignal('tvec', { type: 'pdq', value: H1, labels: ['tvec:glorification'] });
    await banks.addSignal('tvec', { type: 'sha256', value: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' });
    await banks.addSignal('tvec', { type: 'url', value: 'terror.example' });
    await banks.addSignal('tvec', { type: 'vpdq', value: VPDQ });
    const matcher = await Matcher.load(banks, ['tvec']);
    expect(matcher.size).toBe(4);

    const good = await matcher.match({ pdq: H1_NEAR, quality: 100 });
    expect(good).toEqual([expect.objectContaining({ bank: 'tvec', type: 'pdq', value: H1, distance: 2, autoAction: true, labels: ['tvec:glorification'] })]);
    const poor = await matcher.match({ pdq: H1_NEAR, quality: 49 });
    expect(poor).toEqual([expect.objectContaining({ distance: 2, autoAction: false, reason: 'low_quality' })]);
    expect(await matcher.match({ pdq: H2, quality: 100 })).toEqual([]);
    expect((await matcher.match({ sha256: 'BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD' })).map((m) => m.type)).toEqual(['sha256']);
    expect((await matcher.match({ url: 'https://www.terror.example/x?utm_source=a' })).map((m) => m.type)).toEqual(['url']);
    const video = await matcher.match({
      vpdq: [
        { frame: 0, quality: 100, hash: PdqHash.fromHex(H1_NEAR), timestamp: 0 },
        { frame: 1, quality: 100, hash: PdqHash.fromHex(H2), timestamp: 1 },
      ],
    });
    expect(video).toEqual([expect.objectContaining({ type: 'vpdq', vpdq: { queryMatchPercent: 100, targetMatchPercent: 100 }, autoAction: true })]);

    // removal: the store's tombstone hides the match at once; the matcher drops it incrementally
    const signal = (await banks.getSignal('tvec', 'pdq', H1))!;
    await banks.removeSignal('tvec', 'pdq', H1);
    expect(await matcher.match({ pdq: H1, quality: 100 })).toEqual([]);
    matcher.remove(signal);
    const added = await banks.addSignal('tvec', { type: 'pdq', value: H2 });
    matcher.add(added);
    expect((await matcher.match({ pdq: H2, quality: 100 })).map((m) => m.signalId)).toEqual([added.id]);
  });
});

describe('bank formats', () => {
  it('reads the ThreatExchange CLI CSV, HMA add-signal bodies, threat_updates JSON Lines and file-exchange lines', async () => {
    const csv = `signal_type,signal_str,collab,category,tags\npdq,${H1},Sample Data,POSITIVE_CLASS,tvec:glorification foo\nvideo_md5,900150983cd24fb0d6963f7d28e17f72,Sample Data,NEGATIVE_CLASS,\n`;
    const fromCsv = ok(await collect(readBankSignals(chunked(csv, 1000), 'csv', 1)));
    expect(fromCsv.map((s) => [s.type, s.source, s.labels])).toEqual([
      ['pdq', 'Sample Data', ['custom:foo', 'tvec:glorification']],
      ['md5', 'Sample Data', ['review:false_positive']],
    ]);
    const hma = JSON.stringify([{ pdq: H1, note: 'from HMA' }, { url: 'https://terror.example/a' }]);
    expect(ok(await collect(readBankSignals(chunked(hma, 1000), 'json'))).map((s) => s.type)).toEqual(['pdq', 'url']);
    const te = [
      JSON.stringify({ id: '1', indicator: H2, type: 'HASH_PDQ', tags: ['tvec:publication'], added_on: '2020-07-01T18:31:15+0000', should_delete: false }),
      JSON.stringify({ id: '2', indicator: H1, type: 'HASH_PDQ', should_delete: true, last_updated: 1600000000 }),
    ].join('\n');
    const fromTe = ok(await collect(readBankSignals(chunked(te, 1000), 'json')));
    expect(fromTe[0]).toMatchObject({ type: 'pdq', value: H2, labels: ['tvec:publication'], addedAt: Date.UTC(2020, 6, 1, 18, 31, 15), removedAt: null });
    expect(fromTe[1]).toMatchObject({ removedAt: 1600000000000 });
    const txt = `pdq ${H1}\n# comment\nurl https://terror.example/x\n`;
    expect(ok(await collect(readBankSignals(chunked(txt, 3), 'txt'))).map((s) => s.type)).toEqual(['pdq', 'url']);
  });

  it('reports each bad row with its line number instead of failing the whole import', async () => {
    const csv = `signal_type,signal_str\npdq,${H1}\npdq,nothex\ntmk,abc\n`;
    const rows = await collect(readBankSignals(chunked(csv, 1000), 'csv'));
    expect(rows.map((r) => ('error' in r ? `${r.line}: ${r.error}` : `${r.line}: ok`))).toEqual([
      '2: ok',
      expect.stringMatching(/^3: .*64 hex digits/),
      expect.stringMatching(/^4: signal type "tmk" is not one we match/),
    ]);
    await expect(collect(readBankSignals(chunked('a,b\n1,2\n', 1000), 'csv'))).rejects.toThrow(/signal_type and signal_str/);
    await expect(collect(csvRecords(chunked('a,"b\n', 1000)))).rejects.toThrow(/unterminated/);
  });
});
