/**
 * Scale-out: three server nodes share one PostgreSQL and one blob folder, with Redis fanning out new-mail
 * notifications. A device connected to one node gets pushes for messages sent through another, a commit
 * race between nodes still has exactly one winner, and when a node is killed (SIGKILL, a real process)
 * under load its clients reconnect to another node and lose nothing acknowledged.
 */
import { createPostgresDatabase, freePort, requireBinary } from '@doublelock/store/testing';
import { startPostgres } from '@doublelock/store/test-postgres';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { startTestServer } from '../src/testing.ts';
import { bytes, call, groupOf, messageId, Socket, TestAccount } from './harness.ts';
import { redisInstalled, startRedis } from './redis.ts';
import { commitRequest } from './mls.ts';

const CLI = fileURLToPath(new URL('../../cli/bin/doublelock.js', import.meta.url));

/** A node in a process of its own (`doublelock serve`), so that it can be killed for real. */
async function nodeProcess(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), 'doublelock-node-'));
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--data', data, '--log-level', 'warn', '--web-root', 'none', '--rate-limit', '10000', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.once('exit', () => rmSync(data, { recursive: true, force: true }));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('is running at')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`node exited early with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

const postgresUrl = inject('postgresUrl');
const available = requireBinary('redis-server', redisInstalled()) && Boolean(postgresUrl);

describe.runIf(available)('three nodes behind one database and Redis', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let nodes: RunningServer[];
  let third: Awaited<ReturnType<typeof nodeProcess>>;
  const blobDir = mkdtempSync(join(tmpdir(), 'doublelock-shared-blobs-'));

  beforeAll(async () => {
    redis = await startRedis();
    const databaseUrl = await createPostgresDatabase(postgresUrl);
    // One node migrates first, then the second starts on the same schema.
    const first = await startTestServer({ databaseUrl, redisUrl: redis.url, blobDir });
    [nodes, third] = await Promise.all([
      startTestServer({ databaseUrl, redisUrl: redis.url, blobDir }).then((second) => [first, second]),
      nodeProcess(['--database-url', databaseUrl, '--redis-url', redis.url, '--blob-dir', blobDir]),
    ]);
  });
  afterAll(async () => {
    third.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.close()));
    await redis.stop();
    rmSync(blobDir, { recursive: true, force: true });
  });

  it('pushes to a device on one node what was sent through the other', async () => {
    const [n1, n2] = nodes as [RunningServer, RunningServer];
    const alice = await (await new TestAccount(n1, 'alice').register()).login();
    const bobAccount = new TestAccount(n2, 'bob');
    const bob = await (await bobAccount.register()).login();
    const groupId = await groupOf([alice, bob]);
    const socket = await Socket.open(n2.url, bob.token);
    await socket.until(() => socket.items.length === 1); // the welcome
    const ids = Array.from({ length: 20 }, messageId);
    for (const clientMessageId of ids) {
      expect((await alice.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId, epoch: 1, ciphertext: bytes(20) })).status).toBe(200);
    }
    await socket.until(() => socket.items.length === 21);
    expect(socket.items.slice(1).map((i) => i.clientMessageId)).toEqual(ids);
    socket.close();
  });

  it('accepts one commit per epoch even when the racing commits arrive at different nodes', async () => {
    const [n1, n2] = nodes as [RunningServer, RunningServer];
    const a = await (await new TestAccount(n1, 'carol').register()).login();
    const b = await (await new TestAccount(n2, 'dave').register()).login();
    const groupId = await groupOf([a, b]);
    const results = await Promise.all(
      [a, b].map(async (d) => d.call('POST', `/v1/groups/${groupId}/commits`, (await commitRequest(d, groupId)).body)),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
  });

  it('spreads devices over three nodes, and loses nothing acknowledged when one node is killed under load', async () => {
    const [n1, n2] = nodes as [RunningServer, RunningServer];
    const alice = await (await new TestAccount(n1, 'erin').register()).login();
    const bob = await (await new TestAccount(n2, 'frank').register()).login();
    const carol = await (await new TestAccount(third, 'grace').register()).login();
    const groupId = await groupOf([alice, bob, carol]);

    // One socket per device, each on its own node; a message sent through any node reaches all of them.
    const bobSocket = await Socket.open(n2.url, bob.token);
    let carolSocket = await Socket.open(third.url, carol.token);
    const fromCarol = messageId();
    expect((await carol.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: fromCarol, epoch: 1, ciphertext: bytes(20) })).status).toBe(200);
    await bobSocket.until(() => bobSocket.items.some((i) => i.clientMessageId === fromCarol));
    const fromAlice = messageId();
    expect((await alice.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: fromAlice, epoch: 1, ciphertext: bytes(20) })).status).toBe(200);
    await carolSocket.until(() => carolSocket.items.some((i) => i.clientMessageId === fromAlice));

    // Load through nodes 1 and 2; carol, on node 3, acknowledges what is pushed to her as it comes.
    const acked: string[] = [];
    let stop = false;
    const load = Promise.all(
      [alice, bob].map(async (sender) => {
        while (!stop) {
          const id = messageId();
          const r = await sender.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: id, epoch: 1, ciphertext: bytes(100) });
          if (r.status === 200) acked.push(id);
        }
      }),
    );
    const received = new Set<string>();
    const take = (socket: Socket, from: number) => {
      const fresh = socket.items.slice(from);
      for (const item of fresh) received.add(item.clientMessageId);
      if (fresh.length > 0 && socket.ws.readyState === WebSocket.OPEN) socket.ack(fresh.map((i) => i.id));
      return socket.items.length;
    };
    let seen = take(carolSocket, 0);
    while (acked.length < 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      seen = take(carolSocket, seen);
    }
    third.child.kill('SIGKILL');
    await carolSocket.until(() => carolSocket.closeCode !== undefined).catch(() => undefined);
    take(carolSocket, seen);

    // Carol's client reconnects to another node with the same session (sessions live in the database).
    carolSocket = await Socket.open(n1.url, carol.token);
    const sentAfterKill = acked.length;
    while (acked.length < sentAfterKill + 20) await new Promise((resolve) => setTimeout(resolve, 20));
    stop = true;
    await load;
    await carolSocket.until(() => acked.every((id) => received.has(id) || carolSocket.items.some((i) => i.clientMessageId === id)), 20_000);
    take(carolSocket, 0);
    expect(acked.filter((id) => !received.has(id))).toEqual([]);
    // and nothing is left unacknowledged for her once she has acknowledged all
    await new Promise((resolve) => setTimeout(resolve, 300));
    const left = await call<{ items: Array<{ clientMessageId: string }> }>(n2.url, 'GET', '/v1/mailbox?limit=1000', undefined, carol.token);
    expect(left.body.items.filter((i) => !received.has(i.clientMessageId))).toEqual([]);
    bobSocket.close();
    carolSocket.close();
  }, 90_000);
});

describe.runIf(available)('PostgreSQL restarted under load', () => {
  it('keeps two nodes serving once PostgreSQL is back, and loses nothing acknowledged', async () => {
    const postgres = await startPostgres();
    const redis = await startRedis();
    const blobDir = mkdtempSync(join(tmpdir(), 'doublelock-restart-blobs-'));
    const databaseUrl = await postgres.createDatabase('restart');
    const n1 = await startTestServer({ databaseUrl, redisUrl: redis.url, blobDir });
    const n2 = await startTestServer({ databaseUrl, redisUrl: redis.url, blobDir });
    try {
      const alice = await (await new TestAccount(n1, 'alice').register()).login();
      const bob = await (await new TestAccount(n2, 'bob').register()).login();
      const groupId = await groupOf([alice, bob]);
      const acked: string[] = [];
      const statuses = new Set<number>();
      let stop = false;
      const load = (async () => {
        while (!stop) {
          const id = messageId();
          const r = await alice.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: id, epoch: 1, ciphertext: bytes(100) }).catch(() => ({ status: 0 }));
          statuses.add(r.status);
          if (r.status === 200) acked.push(id);
          else await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      while (acked.length < 10) await new Promise((resolve) => setTimeout(resolve, 20));
      await postgres.restart();
      const afterRestart = acked.length;
      // the nodes recover on their own: sends are acknowledged again
      while (acked.length < afterRestart + 10) await new Promise((resolve) => setTimeout(resolve, 20));
      stop = true;
      await load;
      // during the outage a send is refused (503) or waits; never a 500
      expect([...statuses].filter((s) => s !== 200 && s !== 503)).toEqual([]);
      const received: string[] = [];
      for (;;) {
        const page = await call<{ items: Array<{ id: number; kind: string; clientMessageId: string }> }>(n2.url, 'GET', '/v1/mailbox?limit=1000', undefined, bob.token);
        if (page.body.items.length === 0) break;
        received.push(...page.body.items.filter((i) => i.kind === 'application').map((i) => i.clientMessageId));
        await call(n2.url, 'POST', '/v1/mailbox/ack', { ids: page.body.items.map((i) => i.id) }, bob.token);
      }
      expect(acked.filter((id) => !received.includes(id))).toEqual([]);
    } finally {
      await Promise.all([n1.close(), n2.close()]);
      await redis.stop();
      await postgres.stop();
      rmSync(blobDir, { recursive: true, force: true });
    }
  }, 90_000);
});
