/**
 * A full disk (finding 3 of issue 15), mounted for real: the SQLite server's data folder is a small tmpfs
 * (root only; other users get a loud skip, CI runs as root and fails without it). Writes that add data get
 * 507 storage_full, acknowledgements still succeed and free space, /healthz reports the store as full, and
 * once there is room again writes are accepted.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { startTestServer } from '../src/testing.ts';
import { bytes, call, groupOf, messageId, TestAccount } from './harness.ts';

const root = process.getuid?.() === 0;
if (!root) {
  const message = 'fullDisk.test.ts: mounting a tmpfs needs root; the full-disk test did not run';
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`SKIPPED: ${message}`);
}

describe.runIf(root)('a full disk (SQLite on a 24 MB tmpfs)', () => {
  const mountPoint = mkdtempSync(join(tmpdir(), 'doublelock-full-'));
  let server: RunningServer;
  beforeAll(async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mountPoint]);
    server = await startTestServer({ dataDir: join(mountPoint, 'data'), storageReserveBytes: 2 * 1024 * 1024, sweepIntervalMs: 60_000 });
  });
  afterAll(async () => {
    await server?.close();
    execFileSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  it('refuses writes with 507 storage_full, still accepts acknowledgements, reports it on /healthz, and recovers', async () => {
    const alice = await (await new TestAccount(server, 'alice').register()).login();
    const bob = await (await new TestAccount(server, 'bob').register()).login();
    const groupId = await groupOf([alice, bob]);
    expect(await call(server.url, 'GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok', store: { full: false } } });

    // Fill the disk but for 1 MB.
    const { bavail, bsize } = statfsSync(mountPoint);
    const filler = join(mountPoint, 'filler');
    writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - 1024 * 1024)));

    let accepted = 0;
    let refused: { status: number; body: Record<string, unknown> } | undefined;
    for (let i = 0; i < 100 && !refused; i++) {
      const r = await alice.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: 1, ciphertext: bytes(60 * 1024) });
      if (r.status === 200) accepted++;
      else refused = r;
    }
    expect(refused).toMatchObject({ status: 507, body: { code: 'storage_full' } });
    expect(accepted).toBeGreaterThan(0);
    // Refused up front while full (the freed reserve is kept for acknowledgements), and health says so.
    expect(await alice.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: 1, ciphertext: bytes(10) })).toMatchObject({ status: 507, body: { code: 'storage_full' } });
    expect(await call(server.url, 'GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'degraded', store: { full: true } } });
    expect(await (await fetch(server.url + '/metrics')).text()).toMatch(/doublelock_store_full 1/);

    // Acknowledgements work on the full disk: bob drains everything accepted.
    let drained = 0;
    for (;;) {
      const page = await bob.mailbox();
      if (page.length === 0) break;
      const ack = await bob.call<{ deleted: number }>('POST', '/v1/mailbox/ack', { ids: page.map((m) => m.id) });
      expect(ack.status).toBe(200);
      drained += ack.body.deleted;
    }
    expect(drained).toBe(accepted + 1); // and the Welcome

    // Room again: health clears, writes are accepted.
    rmSync(filler);
    expect(await call(server.url, 'GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok', store: { full: false } } });
    expect((await alice.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: 1, ciphertext: bytes(10) })).status).toBe(200);
  });
});
