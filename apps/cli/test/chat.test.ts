/** Two people chat from two terminals' worth of profiles, through the real CLI against a real server. */
import Database from 'better-sqlite3';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/src/app.ts';
import { startTestServer } from '../../server/src/testing.ts';

const CLI = fileURLToPath(new URL('../bin/doublelock.js', import.meta.url));
const run = (...args: string[]) =>
  promisify(execFile)(process.execPath, [CLI, ...args], { timeout: 60_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

const dir = mkdtempSync(join(tmpdir(), 'doublelock-chat-cli-'));
const alice = ['--profile', join(dir, 'alice')];
const bob = ['--profile', join(dir, 'bob')];
let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('doublelock chat commands', () => {
  it('registers two people, creates a chat, sends text and a file, and the other side listens', async () => {
    expect((await run('register', 'alice', ...alice, '--server', server.url)).code).toBe(0);
    expect((await run('register', 'bob', ...bob, '--server', server.url)).code).toBe(0);
    const created = await run('chat', 'create', 'bob', ...alice);
    expect(created.code).toBe(0);
    const chatId = created.stdout.trim();
    expect(chatId).toMatch(/^[A-Za-z0-9_-]{22,}$/);

    expect((await run('send', chatId, 'hello', 'bob', ...alice)).code).toBe(0);
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'the attachment body');
    expect((await run('send', chatId, '--file', file, ...alice)).code).toBe(0);

    const saveDir = join(dir, 'received');
    const listened = await run('listen', '--once', '--save-dir', saveDir, ...bob);
    expect(listened.code).toBe(0);
    expect(listened.stdout).toContain('hello bob');
    expect(readFileSync(join(saveDir, 'notes.txt'), 'utf8')).toBe('the attachment body');

    const aliceNumber = (await run('safety-number', 'bob', ...alice)).stdout.trim();
    const bobNumber = (await run('safety-number', 'alice', ...bob)).stdout.trim();
    expect(aliceNumber.length).toBeGreaterThan(20);
    expect(aliceNumber).toBe(bobNumber);
  }, 120_000);

  it('fails clearly on a chat it does not know and on a missing profile', async () => {
    const unknown = await run('send', 'no-such-chat', 'hi', ...alice);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/chat/i);
    const noProfile = await run('chat', 'list', '--profile', join(dir, 'nobody'));
    expect(noProfile.code).not.toBe(0);
    expect(noProfile.stderr.length).toBeGreaterThan(0);
  }, 60_000);

  it('pins the deployment’s log key and verifies with it by default; links a device by a code it shows, approved from another device', async () => {
    const dana = ['--profile', join(dir, 'dana')];
    const registered = await run('register', 'dana', ...dana, '--server', server.url);
    expect(registered.code).toBe(0);
    expect(registered.stderr).toContain(`Pinned the server's transparency log key (first use): ${server.ctx.directory.log.verifierKey}`);
    // A profile refuses another log key than the one it pinned.
    const other = await run('chat', 'list', ...dana, '--log-key', 'other+00000000+AAAA');
    expect(other.code).not.toBe(0);
    expect(other.stderr).toMatch(/pinned the log key/);

    // The new device shows a code and waits; an existing device approves it.
    const laptop = spawn(process.execPath, [CLI, 'devices', 'link', 'dana', '--profile', join(dir, 'dana-laptop'), '--server', server.url, '--device-name', 'laptop']);
    let out = '';
    laptop.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const finished = new Promise<number>((resolve) => laptop.on('exit', (code) => resolve(code ?? 1)));
    while (!/devices approve (\S+)/.test(out)) await new Promise((r) => setTimeout(r, 100));
    const code = /devices approve (\S+)/.exec(out)![1]!;
    const approved = await run('devices', 'approve', code, '--name', 'laptop', ...dana);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain('Approved device');
    expect(await finished).toBe(0);
    expect(out).toContain('Linked as dana/');
    const listed = await run('devices', 'list', ...dana);
    expect(listed.stdout).toMatch(/laptop\s+active/);

    // Both profiles kept the last checkpoint they accepted (a split view is caught across runs).
    for (const profile of ['dana', 'dana-laptop']) {
      const db = new Database(join(dir, profile, 'device.db'), { readonly: true });
      const keys = (db.prepare('SELECT key FROM kv').all() as Array<{ key: string }>).map((r) => r.key);
      db.close();
      expect(keys).toContain('kt/checkpoint');
    }
  }, 120_000);
});
