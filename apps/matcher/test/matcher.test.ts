/**
 * The matcher role in its own process: the internal API (auth, validation, matching, refresh), several
 * processes sharing one server's queries with failover, and the real `doublelock matcher serve` process
 * behind the server's upload check (a banked image, mirrored, is blocked).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BankStore, hashImage, LiveBanks, PdqHash, RemoteMatcher, RemoteMatcherError, UploadCheck, type ImageSignals } from '@doublelock/moderation';
import { openDb, type Db } from '@doublelock/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMatcher, type RunningMatcher } from '../src/index.ts';
import { blockPicture } from '@doublelock/moderation/testing';
import { serveMatcher } from './process.ts';

const TOKEN = 'test-matcher-token-0123456789';
const CLI = fileURLToPath(new URL('../../cli/bin/doublelock.js', import.meta.url));


const variants = (s: ImageSignals) => Object.fromEntries(Object.entries(s.pdq).map(([d, h]) => [d, PdqHash.fromHex(h)]));

describe('matcher processes', () => {
  let dir: string;
  let db: Db;
  let banked: ImageSignals;
  let mirrored: ImageSignals;
  const running: RunningMatcher[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dl-matcher-'));
    db = await openDb({ dataDir: dir });
    const banks = new BankStore(db);
    await banks.createBank('tvec');
    banked = await hashImage(await blockPicture(1));
    mirrored = await hashImage(await blockPicture(1, true));
    await banks.addSignal('tvec', { type: 'pdq', value: banked.pdq.original, labels: ['tvec:glorification'] });
    await banks.addSignal('tvec', { type: 'url', value: 'propaganda.example', labels: ['tvec:publication'] });
    for (let i = 0; i < 2; i++) running.push(await startMatcher({ db, port: 0, token: TOKEN, refreshMs: 0 }));
  });
  afterAll(async () => {
    for (const r of running) await r.close();
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (path: string, body: unknown, token: string | null = TOKEN) =>
    fetch(running[0]!.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...(token !== null && { authorization: `Bearer ${token}` }) }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('refuses queries without the token, or with a wrong one', async () => {
    for (const token of [null, 'wrong-token-wrong-token', `${TOKEN}x`, '']) {
      const r = await post('/internal/v1/match', { pdq: banked.pdq.original }, token);
      expect(r.status).toBe(401);
      expect(await r.json()).toMatchObject({ code: 'unauthenticated' });
    }
    expect((await fetch(`${running[0]!.url}/internal/v1/status`)).status).toBe(401);
    expect((await fetch(`${running[0]!.url}/healthz`)).status).toBe(200);
  });

  it('answers bad queries with 4xx { code, message }', async () => {
    const bad = [{ pdq: 'xyz' }, { pdq: banked.pdq.original, extra: 1 }, { pdqVariants: { rot45: banked.pdq.original } }, { quality: 101 }, { vpdq: '[1,2' }, { url: 'ftp://nope' }, '{"pdq":', [1, 2]];
    for (const body of bad) {
      const r = await post('/internal/v1/match', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(Object.keys(await r.json()).sort()).toEqual(['code', 'message']);
    }
    expect((await post('/internal/v1/match', { url: `https://x.example/${'a'.repeat(2 << 20)}` })).status).toBe(413);
  });

  it('matches a mirrored copy through the processes, round robin, and fails over', async () => {
    const remote = new RemoteMatcher(
      running.map((r) => r.url),
      TOKEN,
    );
    const [m] = await remote.match({ pdqVariants: variants(mirrored), quality: mirrored.quality });
    expect(m).toMatchObject({ bank: 'tvec', type: 'pdq', labels: ['tvec:glorification'], autoAction: true });
    expect(m!.variant).not.toBe('original');
    expect(await remote.match({ url: 'https://www.propaganda.example/a?utm_source=x' })).toHaveLength(1);
    expect(await remote.match({ pdq: (await hashImage(await blockPicture(9))).pdq.original })).toEqual([]);
    expect(await new RemoteMatcher([running[0]!.url], 'wrong-token-wrong-token').match({ url: 'https://a.example' }).catch((e: Error) => e)).toBeInstanceOf(RemoteMatcherError);

    // a signal added to the bank is found once the processes refresh
    const other = await hashImage(await blockPicture(4));
    await new BankStore(db).addSignal('tvec', { type: 'pdq', value: other.pdq.original, labels: ['tvec:publication'] });
    expect(await remote.refresh()).toBe(1);
    for (let i = 0; i < 2; i++) expect(await remote.match({ pdq: other.pdq.original })).toHaveLength(1);
    const status = await (await fetch(`${running[1]!.url}/internal/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
    expect(status).toMatchObject({ signals: 3, banks: ['tvec'], pdqThreshold: 31 });

    // one process gone: the other answers every query; both gone: a clear error
    await running[0]!.close();
    for (let i = 0; i < 3; i++) expect(await remote.match({ pdq: other.pdq.original })).toHaveLength(1);
    await running[1]!.close();
    running.length = 0;
    await expect(remote.match({ pdq: other.pdq.original })).rejects.toThrow(/no matcher process answered \(2 tried\)/);
  });

  it('runs as `doublelock matcher serve`, and the upload check blocks a banked image through it', async () => {
    const { child, url } = await serveMatcher(['--data', dir, '--port', '0', '--refresh-ms', '200'], TOKEN);
    try {
      const check = new UploadCheck(db, await LiveBanks.open(db, { matcher: new RemoteMatcher([url], TOKEN) }));
      const decision = await check.check({ subject: 'post:1', uploader: 'ann', createdAt: 1, items: [{ id: 'media:1', kind: 'image', signals: mirrored }] });
      expect(decision.verdict).toBe('block');
      const clean = await check.check({ subject: 'post:2', uploader: 'ann', createdAt: 1, items: [{ id: 'media:2', kind: 'image', signals: await hashImage(await blockPicture(7)) }] });
      expect(clean.verdict).toBe('publish');
    } finally {
      child.kill('SIGTERM');
    }
    // without a token it will not start
    const refused = spawn(process.execPath, [CLI, 'matcher', 'serve', '--data', dir, '--port', '0'], { env: { ...process.env, DOUBLELOCK_MATCHER_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    refused.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    expect(await new Promise((r) => refused.once('exit', r))).not.toBe(0);
    expect(err).toMatch(/token/);
  }, 180_000);
});
