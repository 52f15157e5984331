import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { pdqHashImage } from '@doublelock/moderation/image';

const entry = fileURLToPath(new URL('../bin/doublelock.js', import.meta.url));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [entry, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('doublelock hash / bank / match', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dl-cli-'));
  const data = join(dir, 'data');
  const image = join(dir, 'poster.png');
  const edited = join(dir, 'poster-edited.jpg');
  const video = join(dir, 'clip.mp4');

  beforeAll(async () => {
    // a textured picture (flat shapes have too many coefficients near the median to survive edits)
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'mandelbrot=size=400x300', '-frames:v', '1', image], { timeout: 60_000 });
    await sharp(image).resize(300, 225).modulate({ brightness: 1.1 }).jpeg({ quality: 70 }).toFile(edited);
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=duration=3:size=160x120:rate=10', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', video], { timeout: 60_000 });
    writeFileSync(join(dir, 'empty.png'), '');
  });

  it('hash --json prints one object a line with file, pdq, quality, md5, sha256 (videos too)', async () => {
    const r = cli('hash', '--json', image, video);
    expect(r.code).toBe(0);
    const [img, vid] = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const want = await pdqHashImage(image);
    expect(img).toMatchObject({ file: image, kind: 'image', pdq: want.hash.toHex(), quality: want.quality });
    expect(img!.md5).toMatch(/^[0-9a-f]{32}$/);
    expect(img!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(vid).toMatchObject({ file: video, kind: 'video', pdq: null, quality: null });
    expect(vid!.vpdq).toHaveLength(3);
  });

  it('hash reports bad files on stderr, keeps going, and exits 1', () => {
    const r = cli('hash', join(dir, 'empty.png'), image);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/empty\.png is empty \(0 bytes\)/);
    expect(r.stdout).toMatch(/pdq {5}[0-9a-f]{64}/);
  });

  it('bank import → list → match → export round trip on the embedded store', () => {
    const hashes = cli('hash', '--json', image, video).stdout.trim().split('\n').map((l) => JSON.parse(l) as { pdq: string; md5: string; vpdq: string[] });
    const rows = ['signal_type,signal_str,collab,category,tags', `pdq,${hashes[0]!.pdq},test-hub,POSITIVE_CLASS,tvec:glorification`, `md5,${hashes[1]!.md5},test-hub,,`];
    rows.push(`vpdq,"${JSON.stringify(hashes[1]!.vpdq).replaceAll('"', '""')}",test-hub,,tvec:attacker_manifesto`);
    // plus filler, so the import is a real stream of many rows
    for (let i = 0; i < 2000; i++) rows.push(`sha256,${i.toString(16).padStart(64, '0')},filler,,`);
    writeFileSync(join(dir, 'bank.csv'), `${rows.join('\n')}\n`);

    expect(cli('bank', 'import', 'tvec', join(dir, 'bank.csv'), '--data', data).stderr).toMatch(/no bank named "tvec"/);
    const imported = cli('bank', 'import', 'tvec', join(dir, 'bank.csv'), '--create', '--data', data);
    // an import queues a retro-sweep of what it added (docs/MODERATION.md)
    expect(imported.stdout).toBe('Imported 2003 signals into tvec.\nQueued retro-sweep #1 (a running server does it; or: doublelock sweep run 1).\n');
    expect(cli('bank', 'list', '--data', data).stdout).toMatch(/^tvec {2}md5 1, pdq 1, sha256 2000, vpdq 1\n/);

    const matched = cli('match', edited, video, join(dir, 'empty.png'), '--bank', 'tvec', '--json', '--data', data);
    expect(matched.code).toBe(1);
    const [photo, clip, bad] = matched.stdout.trim().split('\n').map((l) => JSON.parse(l) as { matches: Array<Record<string, unknown>>; error?: { code: string } });
    expect(photo!.matches).toEqual([expect.objectContaining({ bank: 'tvec', type: 'pdq', labels: ['tvec:glorification'], autoAction: true })]);
    expect(photo!.matches[0]!.distance).toBeLessThanOrEqual(31);
    expect(clip!.matches.map((m) => m.type).sort()).toEqual(['md5', 'vpdq']);
    expect(bad!.error?.code).toBe('empty_file');

    const out = join(dir, 'out.json');
    expect(cli('bank', 'export', 'tvec', out, '--data', data).code).toBe(0);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { bank: string; signals: unknown[] };
    expect(doc.bank).toBe('tvec');
    expect(doc.signals).toHaveLength(2003);
    expect(cli('bank', 'export', 'tvec', '--format', 'txt', '--data', data).stdout.split('\n')[0]).toBe(`pdq ${hashes[0]!.pdq}`);
  });

  it('matches rotated or mirrored copies with --dihedral, and banks a video from its vPDQ hash file', async () => {
    const rotated = join(dir, 'poster-rot90.png');
    const mirrored = join(dir, 'poster-flop.png');
    await sharp(image).rotate(90).toFile(rotated);
    await sharp(image).flop().toFile(mirrored);
    const pdq = (JSON.parse(cli('hash', '--json', image).stdout) as { pdq: string }).pdq;
    expect(cli('bank', 'add', 'rot', 'pdq', pdq, '--label', 'tvec:branded_content', '--data', data).stderr).toMatch(/no bank named "rot"/);
    expect(cli('bank', 'create', 'rot', '--data', data).stdout).toBe('Bank rot is ready.\n');
    expect(cli('bank', 'add', 'rot', 'pdq', pdq, '--label', 'tvec:branded_content', '--data', data).stdout).toMatch(/^Added pdq [0-9a-f]{64} to rot/);

    const plain = JSON.parse(cli('match', rotated, '--bank', 'rot', '--json', '--data', data).stdout) as { matches: unknown[] };
    expect(plain.matches).toEqual([]);
    const lines = cli('match', rotated, mirrored, '--bank', 'rot', '--json', '--dihedral', '--data', data).stdout.trim().split('\n');
    const [rot, flop] = lines.map((l) => JSON.parse(l) as { matches: Array<{ variant: string; distance: number }> });
    expect(rot!.matches).toEqual([expect.objectContaining({ type: 'pdq', variant: 'rot90' })]);
    expect(flop!.matches).toEqual([expect.objectContaining({ type: 'pdq', variant: 'flipy' })]);
    expect(rot!.matches[0]!.distance).toBeLessThanOrEqual(8);
    expect(cli('match', rotated, '--bank', 'rot', '--dihedral', '--data', data).stdout).toMatch(/MATCH rot pdq #\d+ distance \d+ \(rot90\)  \[tvec:branded_content\]  auto-action allowed/);

    const vpdqDir = join(dir, 'vpdq');
    expect(cli('hash', video, '--vpdq-dir', vpdqDir).stdout).toMatch(/vpdq {4}3 frames \(3 unique\) of 160×120/);
    expect(readFileSync(join(vpdqDir, 'clip.mp4.txt'), 'utf8')).toMatch(/^0,\d+,[0-9a-f]{64},0\.000\n10,\d+,[0-9a-f]{64},1\.000\n/);
    expect(cli('bank', 'add', 'rot', 'vpdq', join(vpdqDir, 'clip.mp4.txt'), '--data', data).stdout).toMatch(/^Added vpdq \["[0-9a-f]+… to rot \(#\d+\)\.\n$/);
    const clip = JSON.parse(cli('match', video, '--bank', 'rot', '--json', '--data', data).stdout) as { matches: Array<{ type: string }> };
    expect(clip.matches.map((m) => m.type)).toEqual(['vpdq']);
  });

  it('refuses a malformed import as a whole, naming the line', () => {
    writeFileSync(join(dir, 'bad.csv'), `signal_type,signal_str\npdq,${'a'.repeat(64)}\npdq,zzz\n`);
    const r = cli('bank', 'import', 'other', join(dir, 'bad.csv'), '--create', '--data', data);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.csv line 3: a PDQ hash is 64 hex digits.*nothing imported/);
    expect(cli('bank', 'list', '--data', data).stdout).toMatch(/^other {2}empty/m);
    expect(cli('bank', 'import', 'other', join(dir, 'bad.csv'), '--skip-invalid', '--data', data).stdout).toMatch(/Imported 1 signals into other, skipped 1 malformed rows/);
  });
});
