import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/src/app.ts';
import { startTestServer } from '../../server/src/testing.ts';
import { TestAccount } from '../../server/test/harness.ts';

const CLI = fileURLToPath(new URL('../bin/doublelock.js', import.meta.url));
const run = (...args: string[]) =>
  promisify(execFile)(process.execPath, [CLI, ...args]).then(
    ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );

const dataDir = mkdtempSync(join(tmpdir(), 'doublelock-cli-'));
let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ dataDir });
});
afterAll(async () => {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('doublelock admin', { timeout: 180_000 }, () => {
  it('shows an account and its devices from the store', async () => {
    const device = await new TestAccount(server, 'alice').register();
    const r = await run('admin', 'account', 'alice', '--data', dataDir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(device.deviceId);
  });

  it('fails with a clear message and a non-zero exit on bad input', async () => {
    const missing = await run('admin', 'account', 'nobody', '--data', dataDir);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('no account "nobody"');
    const badLimit = await run('admin', 'reports', '--limit', 'lots', '--data', dataDir);
    expect(badLimit.code).not.toBe(0);
    expect(badLimit.stderr).toContain('--limit must be a positive integer');
    expect((await run('admin', 'reports', '--data', dataDir)).stdout).toContain('No reports.');
  });
});
