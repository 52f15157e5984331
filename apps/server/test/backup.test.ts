/**
 * Backup and restore, tested as an operator runs them: `doublelock backup` (SQLite online backup, or
 * pg_dump) is taken from another process while messages flow, `doublelock restore` puts it into a fresh
 * data folder (and an empty PostgreSQL database), and a server started on the restored copy delivers every
 * message acknowledged before the backup began, and serves the blobs uploaded before it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { createPostgresDatabase } from '@doublelock/store/testing';
import { describe, expect, inject, it } from 'vitest';
import { startTestServer } from '../src/testing.ts';
import { bytes, groupOf, messageId, TestAccount, TestDevice } from './harness.ts';

const CLI = fileURLToPath(new URL('../../cli/bin/doublelock.js', import.meta.url));
const cli = (args: string[]) => promisify(execFile)(process.execPath, [CLI, ...args]);
const postgresUrl = inject('postgresUrl');
const stores = [{ name: 'sqlite' }, ...(postgresUrl ? [{ name: 'postgres' }] : [])];

describe.each(stores)('backup and restore on $name', ({ name }) => {
  it('backs up under load, restores to a fresh data folder, and finds every message acknowledged before the backup', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'doublelock-backup-'));
    const dataDir = join(scratch, 'data');
    const databaseUrl = name === 'postgres' ? await createPostgresDatabase(postgresUrl) : undefined;
    const server = await startTestServer({ dataDir, databaseUrl });
    try {
      const alice = await (await new TestAccount(server, 'alice').register()).login();
      const bobAccount = new TestAccount(server, 'bob');
      const bob = await (await bobAccount.register()).login();
      const groupId = await groupOf([alice, bob]);
      const blob = randomBytes(3000);
      const hash = bytesToHex(sha256(blob));
      const put = await fetch(`${server.url}/v1/groups/${groupId}/blobs/${hash}`, { method: 'PUT', headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/octet-stream' }, body: blob });
      expect(put.status).toBe(201);

      // Load: alice sends until told to stop; bob acknowledges a first page meanwhile (deletes happen too).
      const acked: string[] = [];
      let stop = false;
      const load = (async () => {
        while (!stop) {
          const id = messageId();
          const r = await alice.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: id, epoch: 1, ciphertext: bytes(200) });
          if (r.status === 200) acked.push(id);
        }
      })();
      while (acked.length < 30) await new Promise((resolve) => setTimeout(resolve, 20));
      const first = await bob.mailbox();
      await bob.call('POST', '/v1/mailbox/ack', { ids: first.map((m) => m.id) });
      const delivered = new Set(first.map((m) => m.clientMessageId));
      const beforeBackup = [...acked];
      const backupDir = join(scratch, 'backup');
      await cli(['backup', '--data', dataDir, '--out', backupDir, ...(databaseUrl ? ['--database-url', databaseUrl] : [])]);
      const duringBackup = acked.length - beforeBackup.length;
      stop = true;
      await load;
      expect(duringBackup).toBeGreaterThan(0); // the backup really ran under load

      // Restore into a fresh folder (and database) and start a server there.
      const restoredDir = join(scratch, 'restored');
      const restoredUrl = name === 'postgres' ? await createPostgresDatabase(postgresUrl) : undefined;
      await cli(['restore', '--from', backupDir, '--data', restoredDir, ...(restoredUrl ? ['--database-url', restoredUrl] : [])]);
      const restored = await startTestServer({ dataDir: restoredDir, databaseUrl: restoredUrl });
      try {
        const bobAgain = await new TestDevice(new TestAccount(restored, 'bob'), bob.keys).login();
        const items: string[] = [];
        for (;;) {
          const page = await bobAgain.mailbox();
          if (page.length === 0) break;
          items.push(...page.filter((m) => m.kind === 'application').map((m) => m.clientMessageId));
          await bobAgain.call('POST', '/v1/mailbox/ack', { ids: page.map((m) => m.id) });
        }
        const found = new Set(items);
        expect(beforeBackup.filter((id) => !delivered.has(id) && !found.has(id))).toEqual([]);
        expect(items.filter((id) => delivered.has(id))).toEqual([]); // what bob had acknowledged stays acknowledged
        const down = await fetch(`${restored.url}/v1/groups/${groupId}/blobs/${hash}`, { headers: { authorization: `Bearer ${bobAgain.token}` } });
        expect(down.status).toBe(200);
        expect(bytesToHex(sha256(new Uint8Array(await down.arrayBuffer())))).toBe(hash);
      } finally {
        await restored.close();
      }
    } finally {
      await server.close();
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 120_000);
});

it('refuses to back up or restore into a folder that is not empty, and a folder that holds no backup', async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'doublelock-backup-refusals-'));
  try {
    const server = await startTestServer({ dataDir: join(scratch, 'data') });
    await server.close();
    await cli(['backup', '--data', join(scratch, 'data'), '--out', join(scratch, 'b')]);
    await expect(cli(['backup', '--data', join(scratch, 'data'), '--out', join(scratch, 'b')])).rejects.toMatchObject({ stderr: expect.stringContaining('is not empty') });
    await expect(cli(['restore', '--from', join(scratch, 'b'), '--data', join(scratch, 'data')])).rejects.toMatchObject({ stderr: expect.stringContaining('is not empty') });
    await expect(cli(['restore', '--from', join(scratch, 'data', 'blobs'), '--data', join(scratch, 'new')])).rejects.toMatchObject({ stderr: expect.stringContaining('holds no backup') });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}, 60_000);
