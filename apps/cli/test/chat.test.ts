/** Two people chat from two terminals' worth of profiles, through the real CLI against a real server. */
import Database from 'better-sqlite3';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
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

describe('doublelock chat commands', { timeout: 180_000 }, () => {
  it('registers two people, creates a chat, sends text and a file, and the other side listens', async () => {
    expect((await run('register', 'alice', ...alice, '--server', server.url)).code).toBe(0);
    expect((await run('register', 'bob', ...bob, '--server', server.url)).code).toBe(0);
    const created = await run('chat', 'create', 'bob', ...alice);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^Chat with bob: [A-Za-z0-9_-]{22,}$/m);
    const chatId = created.stdout.trim().split(': ')[1]!;

    expect((await run('send', chatId, 'hello', 'bob', ...alice)).code).toBe(0);
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'the attachment body');
    expect((await run('send', chatId, '--file', file, ...alice)).code).toBe(0);
    // An image: streamed from disk, with a preview made on Alice's side.
    const photo = join(dir, 'photo.png');
    writeFileSync(photo, await sharp({ create: { width: 640, height: 480, channels: 3, background: '#3a6' } }).png().toBuffer());
    expect((await run('send', chatId, '--file', photo, ...alice)).stdout).toMatch(/^sent photo\.png \(\d+ bytes, #\d+\)$/m);

    const saveDir = join(dir, 'received');
    const listened = await run('listen', '--once', '--save-dir', saveDir, ...bob);
    expect(listened.code).toBe(0);
    expect(listened.stdout).toContain('hello bob');
    expect(readFileSync(join(saveDir, 'notes.txt'), 'utf8')).toBe('the attachment body');
    expect(listened.stdout).toMatch(/\[file photo\.png, \d+ bytes, preview 320×240\]/);
    expect(readFileSync(join(saveDir, 'photo.png'))).toEqual(readFileSync(photo));

    const aliceNumber = (await run('safety-number', 'bob', ...alice)).stdout.trim();
    const bobNumber = (await run('safety-number', 'alice', ...bob)).stdout.trim();
    expect(aliceNumber.length).toBeGreaterThan(20);
    expect(aliceNumber).toBe(bobNumber);
  }, 240_000);

  it('fails clearly on a chat it does not know and on a missing profile', async () => {
    const unknown = await run('send', 'no-such-chat', 'hi', ...alice);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/chat/i);
    const noProfile = await run('chat', 'list', '--profile', join(dir, 'nobody'));
    expect(noProfile.code).not.toBe(0);
    expect(noProfile.stderr.length).toBeGreaterThan(0);
  }, 180_000);

  it('says what each command did; reply, react, edit, delete, info, members, admins, timer, block, settings', async () => {
    const carol = ['--profile', join(dir, 'carol')];
    const dave = ['--profile', join(dir, 'dave')];
    expect((await run('register', 'carol', ...carol, '--server', server.url)).stdout).toMatch(/^Registered carol/);
    expect((await run('register', 'dave', ...dave, '--server', server.url)).code).toBe(0);

    // A person who does not exist: a clear error, and nothing left behind.
    const nobody = await run('chat', 'create', 'nobody-here', ...carol);
    expect(nobody.code).not.toBe(0);
    expect(nobody.stderr).toContain('No user "nobody-here"');
    expect((await run('chat', 'list', ...carol)).stdout.trim()).toBe('');

    // No second 1:1 chat with the same person.
    const first = (await run('chat', 'create', 'dave', ...carol)).stdout;
    const again = await run('chat', 'create', 'dave', ...carol);
    expect(again.stdout).toContain('(you already had this chat)');
    const chatId = first.trim().split(': ')[1]!;
    expect(again.stdout).toContain(chatId);

    const group = (await run('chat', 'create', 'dave', 'bob', '--name', 'club', ...carol)).stdout;
    expect(group).toMatch(/^Group "club" with dave, bob: /);
    expect((await run('chat', 'rename', 'club', 'book club', ...carol)).stdout).toContain('Renamed the chat to "book club" for everyone.');
    const info = (await run('chat', 'info', 'book club', ...carol)).stdout;
    expect(info).toMatch(/Name: +book club/);
    expect(info).toMatch(/Admins: +carol/);
    expect(info).toMatch(/Rejoin: +a device that lost its state rejoins by itself/);
    expect((await run('chat', 'create', 'dave', '--name', 'closed', '--no-external-rejoin', ...carol)).stdout).toMatch(/^Group "closed" with dave: /);
    expect((await run('chat', 'info', 'closed', ...carol)).stdout).toMatch(/Rejoin: +re-add only/);
    expect((await run('chat', 'members', 'book club', ...carol)).stdout).toMatch(/carol \(admin\) \(you\): 1 device/);
    const notAdmin = await run('chat', 'rename', 'book club', 'daves club', ...dave);
    expect(notAdmin.code).not.toBe(0);
    expect(notAdmin.stderr).toContain("Only the group's admins may rename the chat.");
    expect((await run('chat', 'remove', 'book club', 'bob', ...carol)).stdout).toContain('Removed bob');

    const sent = await run('send', chatId, 'see you at 6', ...carol);
    const seq = /#(\d+)/.exec(sent.stdout)![1]!;
    expect((await run('reply', chatId, seq, 'perfect', ...dave)).stdout).toMatch(/^replied to #\d+/);
    expect((await run('react', chatId, seq, '🎉', ...dave)).stdout).toContain('reacted 🎉');
    expect((await run('edit', chatId, seq, 'see you at 7', ...carol)).stdout).toContain(`edited #${seq}`);
    const secret = await run('send', chatId, 'the door code is 4711', ...carol);
    const secretSeq = /#(\d+)/.exec(secret.stdout)![1]!;
    expect((await run('delete', chatId, secretSeq, ...carol)).stdout).toContain('deleted');
    const history = (await run('history', chatId, ...dave)).stdout;
    expect(history).toContain('see you at 7');
    expect(history).toContain('edited');
    expect(history).toContain('🎉 dave');
    expect(history).toMatch(/perfect ↪ carol: "see you at 7"/);
    expect(history).toContain('[deleted]');
    expect(history).not.toContain('4711');
    // Dave opened the history: Carol sees it read.
    expect((await run('history', chatId, ...carol)).stdout).toContain('read by dave');

    expect((await run('chat', 'timer', chatId, '1h', ...carol)).stdout).toContain('disappear from every device 3600 s');

    expect((await run('settings', '--read-receipts', 'off', ...dave)).stdout).toContain('Read receipts: off');
    expect((await run('block', 'carol', ...dave)).stdout).toContain('Blocked carol');
    await run('send', chatId, 'are you ignoring me', ...carol);
    expect((await run('history', chatId, ...dave)).stdout).not.toContain('ignoring');
  }, 480_000);

  it('prints its version, and a useful error when the server is down', async () => {
    const version = await run('--version');
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const down = await run('register', 'erin', '--profile', join(dir, 'erin'), '--server', 'http://127.0.0.1:59998');
    expect(down.code).not.toBe(0);
    expect(down.stderr).toContain('cannot reach the server at 127.0.0.1:59998 (ECONNREFUSED): is it running?');
  }, 180_000);

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
  }, 240_000);
});
