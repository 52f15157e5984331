/**
 * The storage seam: one contract (storageContract.ts) run on the Node backends — memory and SQLite; the
 * IndexedDB backend runs it in a real browser (browser.test.ts) — and a device that survives a restart
 * on SQLite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Messenger } from '../src/messenger.ts';
import { SqliteStorage } from '../src/node/sqliteStorage.ts';
import { MemoryStorage, type Storage } from '../src/storage/storage.ts';
import { EXPECTED_OBSERVATIONS, exerciseStorage } from './storageContract.ts';
import { NodeWebSocket, register, server, uniqueName, TestDevice } from './harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'doublelock-client-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const backends: Array<[string, () => Promise<Storage>]> = [
  ['memory', async () => new MemoryStorage()],
  ['sqlite', async () => new SqliteStorage(join(dir, `${Math.random().toString(36).slice(2)}.db`))],
];

describe.each(backends)('%s storage', (_name, open) => {
  it('gets, lists by prefix in order, applies batches with deletes, and returns copies', async () => {
    expect(await exerciseStorage(await open())).toEqual(EXPECTED_OBSERVATIONS);
  });
});

describe('a device on SQLite survives a restart', () => {
  let srv: Awaited<ReturnType<typeof server>>;
  beforeAll(async () => {
    srv = await server();
  });
  afterAll(async () => srv.close());

  it('closes, reopens from its file, and keeps chatting in the same group', async () => {
    const path = join(dir, 'device.db');
    const options = { serverUrl: srv.url, webSocket: NodeWebSocket, keyPackageTarget: 4 };
    const first = new TestDevice(await Messenger.register({ ...options, storage: new SqliteStorage(path) }, uniqueName('per')));
    const bob = await register(srv.url, uniqueName('bo'));
    const chat = await first.messenger.createChat(bob.messenger.username);
    await bob.messenger.sync();
    await bob.messenger.sendText(chat, 'before restart');
    await first.messenger.sync();
    await first.messenger.close();
    await bob.messenger.sendText(chat, 'while away');

    const again = new TestDevice(await Messenger.open({ ...options, storage: new SqliteStorage(path) }));
    expect(again.messenger.deviceId).toBe(first.messenger.deviceId);
    await again.messenger.sync();
    expect(again.texts).toEqual([`${bob.messenger.username}: while away`]);
    // History holds what this device sent (the chat's name) beside what it received.
    expect((await again.messenger.history(chat)).map((m) => m.content)).toEqual([
      { type: 'rename', name: `${first.messenger.username} & ${bob.messenger.username}` },
      { type: 'text', text: 'before restart' },
      { type: 'text', text: 'while away' },
    ]);
    await again.messenger.sendText(chat, 'back');
    await bob.messenger.sync();
    expect(bob.texts).toContain(`${again.messenger.username}: back`);
  });
});

describe('group state persistence', () => {
  let srv: Awaited<ReturnType<typeof server>>;
  beforeAll(async () => {
    srv = await server();
  });
  afterAll(async () => srv.close());

  it('a message rewrites only the per-message part of the group state, never the tree or past epochs', async () => {
    const storage = new MemoryStorage();
    const written: string[][] = [];
    const write = storage.write.bind(storage);
    storage.write = async (writes) => {
      written.push(writes.map((w) => w.key.replace(/^group\/[^/]+\//, 'group/…/').replace(/\/epoch\/\d+$/, '/epoch/n')));
      return write(writes);
    };
    const bob = new TestDevice(await Messenger.register({ serverUrl: srv.url, storage, keyPackageTarget: 4 }, uniqueName('bo')));
    const alice = await register(srv.url, uniqueName('al'));
    const chat = await alice.messenger.createChat(bob.messenger.username);
    await bob.messenger.sync();
    await alice.messenger.addMembers(chat, [(await register(srv.url, uniqueName('ca'))).messenger.username]);
    await bob.messenger.sync(); // a commit: tree and a past epoch are written
    expect(written.flat()).toEqual(expect.arrayContaining(['group/…/tree', 'group/…/epoch/n']));
    written.length = 0;
    await alice.messenger.sendText(chat, 'small write');
    await bob.messenger.sync();
    expect(bob.texts).toContain(`${alice.messenger.username}: small write`);
    const keys = written.flat();
    expect(keys).toContain('group/…/state');
    expect(keys.filter((k) => k.endsWith('/tree') || k.includes('/epoch/'))).toEqual([]);
  });

  it('two processes on one device’s storage: the second sees the first’s ratchet steps (no key reuse)', async () => {
    const path = join(dir, 'shared.db');
    const options = { serverUrl: srv.url, keyPackageTarget: 4 };
    const first = await Messenger.register({ ...options, storage: new SqliteStorage(path) }, uniqueName('two'));
    const bob = await register(srv.url, uniqueName('bo'));
    const chat = await first.createChat(bob.messenger.username);
    await bob.messenger.sync();
    const second = await Messenger.open({ ...options, storage: new SqliteStorage(path) });
    await second.sendText(chat, 'from the second process'); // caches the state
    await first.sendText(chat, 'from the first process'); // first's cache is stale: it must reload
    await second.sendText(chat, 'second again');
    await bob.messenger.sync();
    expect(bob.texts.map((t) => t.split(': ')[1])).toEqual(['from the second process', 'from the first process', 'second again']);
    expect(bob.rejections).toEqual([]);
  });
});
