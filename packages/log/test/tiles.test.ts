/**
 * C2SP tlog-tiles: path encoding and entry bundles as the spec writes them, and the spec's own example
 * (a tree of 70,000 entries) served over HTTP: the tiles it lists exist with the stated widths, level-1
 * hashes are the roots of level-0 tiles, bundles hash to level-0 tiles, and the leaves rebuild the root.
 */
import { openDb, type Db } from '@doublelock/store';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logRoutes } from '../../http/src/logRoutes.ts';
import { decodeEntryBundle, encodeEntryBundle, encodeTileIndex, generateSignerKey, parseTileIndex, tilePath, TransparencyLog } from '../src/index.ts';
import { hashLeaf, openCheckpoint, RootBuilder } from '../src/verifier/index.ts';

describe('tlog-tiles encoding', () => {
  it('encodes tile indices as the specification does', () => {
    expect(encodeTileIndex(1234067)).toBe('x001/x234/067');
    expect(encodeTileIndex(0)).toBe('000');
    expect(encodeTileIndex(999)).toBe('999');
    expect(encodeTileIndex(1000)).toBe('x001/000');
    expect(tilePath({ level: 0, index: 273, width: 112 })).toBe('tile/0/273.p/112');
    expect(tilePath({ level: 1, index: 1, width: 256 }, true)).toBe('tile/entries/001');
    for (const n of [0, 7, 999, 1000, 1234067, 2 ** 40]) expect(parseTileIndex(encodeTileIndex(n))).toEqual({ index: n, width: 256 });
    expect(parseTileIndex('x001/x234/067.p/17')).toEqual({ index: 1234067, width: 17 });
    for (const bad of ['1', '0001', 'x000/001', '001/x001', 'x1/001', '001.p/0', '001.p/256', '001.p/017', '../001', '001/']) expect(parseTileIndex(bad), bad).toBeUndefined();
  });

  it('bundles entries with big-endian uint16 lengths', () => {
    const entries = [new Uint8Array(0), new Uint8Array([0x61]), new Uint8Array(300).fill(7)];
    const bundle = encodeEntryBundle(entries);
    expect([...bundle.subarray(0, 5)]).toEqual([0, 0, 0, 1, 0x61]);
    expect([...bundle.subarray(5, 7)]).toEqual([1, 44]);
    expect(decodeEntryBundle(bundle)).toEqual(entries);
    expect(() => decodeEntryBundle(bundle.subarray(0, bundle.length - 1))).toThrow();
    expect(() => encodeEntryBundle([new Uint8Array(65536)])).toThrow();
  });
});

describe('tlog-tiles over HTTP: the specification’s tree of 70,000 entries', () => {
  const SIZE = 70_000;
  let db: Db;
  let log: TransparencyLog;
  let app: FastifyInstance;
  let url: string;
  const entry = (i: number) => new TextEncoder().encode(`entry ${i}`);
  const get = async (path: string) => {
    const response = await fetch(`${url}/v1/log/${path}`);
    return { status: response.status, type: response.headers.get('content-type'), body: new Uint8Array(await response.arrayBuffer()) };
  };
  const hashes = (tile: Uint8Array) => Array.from({ length: tile.length / 32 }, (_, i) => tile.subarray(i * 32, i * 32 + 32));
  const mth = (leafHashes: Uint8Array[]) => {
    const builder = new RootBuilder();
    leafHashes.forEach((h) => builder.addLeafHash(h));
    return builder.root();
  };

  beforeAll(async () => {
    db = await openDb({ sqlitePath: ':memory:' });
    log = await TransparencyLog.open(db, { signerKey: generateSignerKey('example.test/tiles') });
    for (let start = 0; start < SIZE; start += 10_000) await log.append(Array.from({ length: 10_000 }, (_, i) => entry(start + i)));
    app = Fastify();
    await app.register(logRoutes, { log });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  it('serves exactly the tiles the specification lists, with their widths', async () => {
    expect((await get('tile/0/272')).body.length).toBe(256 * 32); // the 273rd full level-0 tile
    expect((await get('tile/0/273')).status).toBe(404); // not full
    const partial0 = await get('tile/0/273.p/112');
    expect(partial0.status).toBe(200);
    expect(partial0.type).toBe('application/octet-stream');
    expect(partial0.body.length).toBe(112 * 32);
    expect((await get('tile/0/273.p/113')).status).toBe(404);
    expect((await get('tile/1/000')).body.length).toBe(256 * 32);
    expect((await get('tile/1/001.p/17')).body.length).toBe(17 * 32);
    expect((await get('tile/1/001.p/18')).status).toBe(404);
    expect((await get('tile/2/000.p/1')).body.length).toBe(32);
    expect((await get('tile/2/000.p/2')).status).toBe(404);
    expect((await get('tile/0/x000/001')).status).toBe(400); // non-canonical index
    expect((await get('tile/64/000')).status).toBe(400);
  });

  it('tiles and bundles rebuild the signed tree', async () => {
    const checkpoint = openCheckpoint(new TextDecoder().decode((await get('checkpoint')).body), log.verifierKey);
    const level0: Uint8Array[] = [];
    for (let n = 0; n < 273; n++) level0.push(...hashes((await get(`tile/0/${encodeTileIndex(n)}`)).body));
    level0.push(...hashes((await get('tile/0/273.p/112')).body));
    expect(level0).toHaveLength(SIZE);
    expect(mth(level0)).toEqual(checkpoint.rootHash);

    const level1 = hashes((await get('tile/1/000')).body);
    for (const n of [0, 1, 100, 255]) expect(level1[n]).toEqual(mth(level0.slice(n * 256, (n + 1) * 256)));
    expect(hashes((await get('tile/2/000.p/1')).body)[0]).toEqual(mth(level1));

    const bundle = decodeEntryBundle((await get('tile/entries/273.p/112')).body);
    expect(bundle).toHaveLength(112);
    bundle.forEach((e, i) => expect(hashLeaf(e)).toEqual(level0[273 * 256 + i]));
    expect(decodeEntryBundle((await get('tile/entries/005')).body).map((e) => new TextDecoder().decode(e))[3]).toBe(`entry ${5 * 256 + 3}`);
    expect((await get('tile/entries/273')).status).toBe(404);
  });
});
