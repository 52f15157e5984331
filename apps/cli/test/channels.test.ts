/**
 * The channel and rules commands as a person runs them: `doublelock channel create|post|feed|follow`
 * against a real server from two profiles, `rules import|test` on its store, `bank import` queueing a
 * retro-sweep that `sweep run` carries out, and clear failures with a non-zero exit for bad input.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashImage } from '@doublelock/moderation';
import { startTestServer } from '@doublelock/server/testing';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '@doublelock/server';

const entry = fileURLToPath(new URL('../bin/doublelock.js', import.meta.url));

/** Runs the CLI without blocking the server in this process. */
function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [entry, ...args], { env: { ...process.env, DOUBLELOCK_SERVER: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('doublelock channel / rules / sweep', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dl-channels-'));
  const data = join(dir, 'data');
  const alice = join(dir, 'alice');
  const bob = join(dir, 'bob');
  const image = join(dir, 'poster.jpg');
  let server: RunningServer;

  beforeAll(async () => {
    server = await startTestServer({ dataDir: data, bankRefreshMs: 100, moderationWorkMs: 100 });
    const pixels = Buffer.alloc(320 * 240 * 3);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7919) % 251 ^ (i >> 9);
    await sharp(pixels, { raw: { width: 320, height: 240, channels: 3 } }).jpeg().toFile(image);
    for (const [name, profile] of [['alice', alice], ['bob', bob]] as const) expect((await cli('register', name, '--profile', profile, '--server', server.url)).code).toBe(0);
  });
  afterAll(async () => server.close());

  it('creates a channel, posts text and an image, reads it anonymously, follows it', async () => {
    expect((await cli('channel', 'create', 'alice-daily', '--name', 'Alice Daily', '--profile', alice)).stdout).toContain('@alice-daily');
    const post = await cli('channel', 'post', 'alice-daily', 'hello', '#world', '--image', image, '--json', '--profile', alice);
    expect(post.code).toBe(0);
    const body = JSON.parse(post.stdout) as { id: number; visibility: string; hashtags: string[]; media: unknown[] };
    expect(body).toMatchObject({ visibility: 'published', hashtags: ['world'] });
    expect(body.media).toHaveLength(1);
    const feed = await cli('channel', 'feed', 'alice-daily', '--server', server.url, '--profile', join(dir, 'nobody'));
    expect(feed.stdout).toContain('hello #world');
    expect((await cli('channel', 'feed', '--tag', '#WORLD', '--server', server.url, '--profile', join(dir, 'nobody'))).stdout).toContain(`#${body.id}`);
    expect((await cli('channel', 'follow', 'alice-daily', '--profile', bob)).stdout).toContain('Following @alice-daily (1 followers)');
    expect((await cli('channel', 'feed', '--home', '--profile', bob)).stdout).toContain('hello #world');
  });

  it('fails clearly: another account’s channel, a missing file, a refused post', async () => {
    const other = await cli('channel', 'post', 'alice-daily', 'hi', '--profile', bob);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toMatch(/belongs to another account/);
    const missing = await cli('channel', 'post', 'alice-daily', 'x', '--image', join(dir, 'nope.jpg'), '--profile', alice);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/no such file/);

    writeFileSync(join(dir, 'rules.csv'), 'rule,labels,severity,action\nisis,tvec:glorification,high,block\n#caliphate,tvec:glorification,high,block\nisis pharma,,low,allow\n');
    const imported = await cli('rules', 'import', 'words', join(dir, 'rules.csv'), '--create', '--data', data);
    expect(imported.stdout).toContain('Imported 3 rules into words');
    await server.ctx.moderation.banks.refresh();
    const refused = await cli('channel', 'post', 'alice-daily', 'join', 'I.S.I.S', '--profile', alice);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/refused:[\s\S]*tvec:glorification/);
  });

  it('rules test shows matches with offsets, and allow-listed ones', async () => {
    const r = await cli('rules', 'test', 'Ｉｓｉｓ rising; isis pharma is a firm', '--json', '--data', data);
    expect(r.code).toBe(0);
    const matches = JSON.parse(r.stdout) as Array<{ rule: string; start: number; end: number; allowed: boolean }>;
    expect(matches.map((m) => [m.rule, m.start, m.end, m.allowed])).toEqual([
      ['isis', 0, 4, false],
      ['isis', 13, 17, true],
    ]);
    const bad = await cli('rules', 'import', 'words', join(dir, 'nope.csv'), '--data', data);
    expect(bad.code).not.toBe(0);
    writeFileSync(join(dir, 'bad.csv'), 'rule,labels,severity,action\nok,tvec:glorification,high,block\n***,tvec:nope,extreme,smite\n');
    const invalid = await cli('rules', 'import', 'words', join(dir, 'bad.csv'), '--data', data);
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toMatch(/line 3/);
  });

  it('bank import queues a retro-sweep; sweep run carries it out and removes the post', async () => {
    const post = JSON.parse((await cli('channel', 'post', 'alice-daily', 'innocent', '--image', image, '--json', '--profile', alice)).stdout) as { id: number };
    const signals = await hashImage(await sharp(image).toBuffer());
    writeFileSync(join(dir, 'new.csv'), `signal_type,signal_str,collab,category,tags\npdq,${signals.pdq.flipx},test,,tvec:branded_content\n`);
    await server.close(); // the sweep runs in the CLI alone (as it would on a quiet server)
    const imported = await cli('bank', 'import', 'fresh', join(dir, 'new.csv'), '--create', '--data', data);
    expect(imported.stdout).toMatch(/Queued retro-sweep #(\d+)/);
    const id = /#(\d+)/.exec(imported.stdout)![1]!;
    const run = await cli('sweep', 'run', '--no-progress', '--data', data);
    // both posts of this image (the first test posted it too) are found and removed
    expect(run.stdout).toMatch(new RegExp(`Sweep #${id}: .*2 posts matched, 2 acted on`));
    const report = JSON.parse((await cli('sweep', 'report', id, '--json', '--data', data)).stdout) as { findings: Array<{ subject: string; verdict: string }> };
    expect(report.findings.filter((f) => f.subject === `post:${post.id}`).map((f) => f.verdict)).toEqual(['block']);
    server = await startTestServer({ dataDir: data });
    const r = await fetch(`${server.url}/v1/posts/${post.id}`);
    expect(r.status).toBe(404);
    expect(spawnSync(process.execPath, [entry, 'sweep', 'report', '999', '--data', data]).status).not.toBe(0);
  });
});
