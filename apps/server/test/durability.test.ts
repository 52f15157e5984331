/**
 * Nothing acknowledged is lost: the server process is killed (SIGKILL) while messages flow, restarted on
 * the same data, and every message whose send was acknowledged reaches every member device; senders then
 * retry what was not acknowledged, and each message is delivered exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@doublelock/store/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { bytes, groupOf, messageId, TestAccount, type TestDevice } from './harness.ts';

const CLI = fileURLToPath(new URL('../../cli/bin/doublelock.js', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'doublelock-durability-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function serve(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--data', dataDir, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('is running at')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`server exited early with ${code}`)));
  });
  return child;
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

async function sendUntilStopped(senders: TestDevice[], groupId: string, stopAfterMs: number) {
  const acked = new Map<string, TestDevice>();
  const attempted = new Map<string, TestDevice>();
  const deadline = Date.now() + stopAfterMs;
  await Promise.all(
    senders.map(async (sender) => {
      while (Date.now() < deadline) {
        const id = messageId();
        attempted.set(id, sender);
        try {
          const r = await sender.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: id, epoch: 1, ciphertext: bytes(100) });
          if (r.status === 200) acked.set(id, sender);
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 20)); // server down
        }
      }
    }),
  );
  return { acked, attempted };
}

/** Everything a device receives, fetching and acknowledging page by page (duplicates kept). */
async function drain(device: TestDevice): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const page = await device.mailbox();
    if (page.length === 0) return ids;
    ids.push(...page.filter((m) => m.kind === 'application').map((m) => m.clientMessageId));
    await device.call('POST', '/v1/mailbox/ack', { ids: page.map((m) => m.id) });
  }
}

describe('durability', () => {
  it('loses no acknowledged message across SIGKILL, and delivers each exactly once after retries', async () => {
    const port = await freePort();
    let child = await serve(port);
    const server = { url: `http://127.0.0.1:${port}` };
    const alice = await (await new TestAccount(server, 'alice').register()).login();
    const bobAccount = new TestAccount(server, 'bob');
    const bob = await (await bobAccount.register()).login();
    const bobLaptop = await (await bobAccount.addDevice()).login();
    const groupId = await groupOf([alice, bob, bobLaptop]);

    const flow = sendUntilStopped([alice, bob], groupId, 2_500);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    child.kill('SIGKILL');
    await exited(child);
    child = await serve(port);
    const { acked, attempted } = await flow;
    expect(acked.size).toBeGreaterThan(20);

    // Senders retry everything they sent, with the same ids: nothing may be duplicated.
    for (const [id, sender] of attempted) {
      const r = await sender.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: id, epoch: 1, ciphertext: bytes(100) });
      expect(r.status).toBe(200);
    }

    for (const device of [bob, bobLaptop, alice]) {
      const received = await drain(device);
      expect(new Set(received).size).toBe(received.length); // exactly once
      // Every message, acknowledged before the crash or retried after it, reached every other member device.
      const expected = [...attempted].filter(([, sender]) => sender !== device).map(([id]) => id);
      expect(new Set(received)).toEqual(new Set(expected));
      for (const [id, sender] of acked) if (sender !== device) expect(received).toContain(id);
    }

    // Graceful shutdown: SIGTERM mid-flow finishes in-flight work, exits 0, and loses nothing acknowledged.
    const second = sendUntilStopped([alice], groupId, 1_500);
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    child = await serve(port);
    const { acked: ackedBeforeStop } = await second;
    expect(ackedBeforeStop.size).toBeGreaterThan(5);
    const afterRestart = await drain(bobLaptop);
    for (const id of ackedBeforeStop.keys()) expect(afterRestart).toContain(id);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  }, 60_000);
});
