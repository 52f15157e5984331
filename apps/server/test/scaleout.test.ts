/**
 * Scale-out: two server nodes share one PostgreSQL and one blob folder, with Redis fanning out new-mail
 * notifications. A device connected to one node gets pushes for messages sent through the other, and a
 * commit race between nodes still has exactly one winner.
 */
import { createPostgresDatabase, requireBinary } from '@doublelock/store/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { startTestServer } from '../src/testing.ts';
import { bytes, groupOf, messageId, Socket, TestAccount } from './harness.ts';
import { redisInstalled, startRedis } from './redis.ts';
import { commitRequest } from './mls.ts';

const postgresUrl = inject('postgresUrl');
const available = requireBinary('redis-server', redisInstalled()) && Boolean(postgresUrl);

describe.runIf(available)('two nodes behind one database and Redis', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let nodes: RunningServer[];
  const blobDir = mkdtempSync(join(tmpdir(), 'doublelock-shared-blobs-'));

  beforeAll(async () => {
    redis = await startRedis();
    const databaseUrl = await createPostgresDatabase(postgresUrl);
    // One node migrates first, then the second starts on the same schema.
    const first = await startTestServer({ databaseUrl, redisUrl: redis.url, blobDir });
    nodes = [first, await startTestServer({ databaseUrl, redisUrl: redis.url, blobDir })];
  });
  afterAll(async () => {
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
});
