/**
 * Nothing acknowledged is lost: the server process is killed (SIGKILL) while messages flow, restarted on
 * the same data, and every message whose send was acknowledged reaches every member device; senders then
 * retry what was not acknowledged, and each message is delivered exactly once. The same on PostgreSQL and
 * with WebSocket sends and acknowledgements; and SQLite really fsyncs each acknowledged write (a trace of
 * the server's fdatasync calls: `npm run mutate:sqlite-sync` shows this test fails with synchronous=OFF
 * or NORMAL).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerFrame } from '@doublelock/protocol';
import { createPostgresDatabase, freePort, requireBinary } from '@doublelock/store/testing';
import WebSocket from 'ws';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { bytes, groupOf, messageId, Socket, TestAccount, type TestDevice } from './harness.ts';

const CLI = fileURLToPath(new URL('../../cli/bin/doublelock.js', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'doublelock-durability-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function serve(port: number, options: { data?: string; databaseUrl?: string; trace?: string } = {}): Promise<ChildProcess> {
  const args = [CLI, 'serve', '--port', String(port), '--data', options.data ?? dataDir, '--log-level', 'warn', '--web-root', 'none', ...(options.databaseUrl ? ['--database-url', options.databaseUrl] : [])];
  // Traced: every fsync/fdatasync of the server's threads, with the file it was on (-y). strace and the
  // server get a process group of their own: killing strace alone would leave the server running.
  const child = options.trace
    ? spawn('strace', ['-f', '-qq', '-y', '-e', 'trace=fsync,fdatasync', '-o', options.trace, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'], detached: true })
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
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

/**
 * A WebSocket sender: sends one message at a time over the socket, counts it acknowledged when its `sent`
 * frame arrives, and reconnects (to the restarted server) until the deadline.
 */
async function sendOverSocket(sender: TestDevice, groupId: string, stopAfterMs: number) {
  const acked = new Set<string>();
  const deadline = Date.now() + stopAfterMs;
  while (Date.now() < deadline) {
    let socket: Socket;
    try {
      socket = await Socket.open(sender.url, sender.token);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    while (Date.now() < deadline && socket.ws.readyState === WebSocket.OPEN) {
      const id = messageId();
      socket.ws.send(JSON.stringify({ type: 'send', groupId, message: { clientMessageId: id, epoch: 1, ciphertext: bytes(100) } }));
      const answered = (f: ServerFrame) => (f.type === 'sent' || f.type === 'error') && f.clientMessageId === id;
      await socket.until(() => socket.frames.some(answered), 5_000).catch(() => undefined);
      if (socket.frames.some((f) => f.type === 'sent' && f.clientMessageId === id)) acked.add(id);
    }
    socket.close();
  }
  return acked;
}

/** A receiver on a WebSocket that acknowledges every pushed item as it arrives, reconnecting after the kill. */
function receiveOverSocket(device: TestDevice, until: () => boolean) {
  const received = new Set<string>();
  const done = (async () => {
    while (!until()) {
      let socket: Socket;
      try {
        socket = await Socket.open(device.url, device.token);
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      let seen = 0;
      while (!until() && socket.ws.readyState === WebSocket.OPEN) {
        await socket.until(() => socket.items.length > seen || until(), 1_000).catch(() => undefined);
        const fresh = socket.items.slice(seen);
        seen = socket.items.length;
        for (const item of fresh) if (item.kind === 'application') received.add(item.clientMessageId);
        if (fresh.length > 0 && socket.ws.readyState === WebSocket.OPEN) socket.ack(fresh.map((i) => i.id));
      }
      socket.close();
    }
  })();
  return { received, done };
}

const postgresUrl = inject('postgresUrl');
const stores = [{ name: 'sqlite' }, ...(postgresUrl ? [{ name: 'postgres' }] : [])];

describe.each(stores)('durability on $name with WebSocket and HTTP sends and acknowledgements', ({ name }) => {
  it('loses no acknowledged message when the server is killed with SIGKILL mid-load', async () => {
    const port = await freePort();
    const data = mkdtempSync(join(tmpdir(), 'doublelock-durability-ws-'));
    const options = { data, ...(name === 'postgres' && { databaseUrl: await createPostgresDatabase(postgresUrl) }) };
    try {
      let child = await serve(port, options);
      const server = { url: `http://127.0.0.1:${port}` };
      const alice = await (await new TestAccount(server, 'alice').register()).login();
      const carol = await (await new TestAccount(server, 'carol').register()).login();
      const bobAccount = new TestAccount(server, 'bob');
      const bob = await (await bobAccount.register()).login();
      const bobLaptop = await (await bobAccount.addDevice()).login();
      const groupId = await groupOf([alice, carol, bob, bobLaptop]);

      // alice sends over HTTP, carol over her socket; bob receives and acknowledges over his socket,
      // his laptop over HTTP (page, then ack) while the load runs.
      let stop = false;
      const bobSide = receiveOverSocket(bob, () => stop);
      const laptopReceived = new Set<string>();
      const laptopSide = (async () => {
        while (!stop) {
          try {
            const page = await bobLaptop.mailbox();
            for (const m of page) if (m.kind === 'application') laptopReceived.add(m.clientMessageId);
            if (page.length > 0) await bobLaptop.call('POST', '/v1/mailbox/ack', { ids: page.map((m) => m.id) });
          } catch {
            /* the server is down */
          }
          await new Promise((resolve) => setTimeout(resolve, 30));
        }
      })();
      const http = sendUntilStopped([alice], groupId, 2_000);
      const ws = sendOverSocket(carol, groupId, 2_000);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      child.kill('SIGKILL');
      await exited(child);
      child = await serve(port, options);
      const { acked: httpAcked } = await http;
      const wsAcked = await ws;
      stop = true;
      await Promise.all([bobSide.done, laptopSide]);
      expect(httpAcked.size).toBeGreaterThan(3);
      expect(wsAcked.size).toBeGreaterThan(3);

      // Logins of the restarted server: sessions are in the store, so the same tokens still work.
      const acked = [...httpAcked.keys(), ...wsAcked];
      for (const [device, before] of [[bob, bobSide.received], [bobLaptop, laptopReceived]] as const) {
        const after = await drain(device);
        expect(new Set(after).size).toBe(after.length);
        const got = new Set([...before, ...after]);
        expect(acked.filter((id) => !got.has(id))).toEqual([]);
      }
      child.kill('SIGKILL');
      await exited(child);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  }, 90_000);
});

const straceInstalled = (() => {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.runIf(requireBinary('strace', straceInstalled))('SQLite fsync', () => {
  it('syncs the write-ahead log to disk before each acknowledged send (fails with synchronous=OFF or NORMAL)', async () => {
    const port = await freePort();
    const data = mkdtempSync(join(tmpdir(), 'doublelock-fsync-'));
    const trace = join(data, 'strace.log');
    const walSyncs = () => readFileSync(trace, 'utf8').split('\n').filter((l) => /^\d+\s+f(data)?sync\(\d+<[^>]*doublelock\.sqlite-wal>\)\s+=\s+0/.test(l)).length;
    const child = await serve(port, { data, trace });
    try {
      const server = { url: `http://127.0.0.1:${port}` };
      const alice = await (await new TestAccount(server, 'alice').register()).login();
      const bob = await (await new TestAccount(server, 'bob').register()).login();
      const groupId = await groupOf([alice, bob]);
      const before = walSyncs();
      const sends = 12;
      for (let i = 0; i < sends; i++) {
        // one at a time: each acknowledged send is its own commit, and each commit must reach the disk
        const r = await alice.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: 1, ciphertext: bytes(100) });
        expect(r.status).toBe(200);
      }
      expect(walSyncs() - before).toBeGreaterThanOrEqual(sends);
    } finally {
      process.kill(-child.pid!, 'SIGKILL'); // the group: strace and the server it traces
      await exited(child);
      rmSync(data, { recursive: true, force: true });
    }
  }, 60_000);
});
