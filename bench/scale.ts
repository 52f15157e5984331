/**
 * `npm run bench:scale`: the multi-node deployment, measured. One PostgreSQL, one Redis, one blob folder,
 * and 1, 2, then 3 server nodes (`doublelock serve` processes). SCALE_DEVICES devices (default 2,000;
 * SCALE_DEVICES=10000 for the full run) in groups of 10, each device's WebSocket on node (i mod n). Per
 * node count:
 *  - memory per idle connection: the nodes' resident memory with every socket connected and idle,
 *    minus before any connected, divided by the sockets (goal ≤ 20 KB);
 *  - deliveries per second: SCALE_INFLIGHT sends outstanding (closed loop, over the senders' own sockets)
 *    for SCALE_SECONDS, every push acknowledged at once; deliveries to devices on other nodes go through
 *    Redis and the database.
 * Prints a table and writes bench/results/scale.json. Bounded: fixed devices, fixed seconds, loopback only.
 */
import type { ServerFrame } from '@doublelock/protocol';
import { findPostgresBin, freePort, startPostgres } from '@doublelock/store/test-postgres';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import type { MlsDevice } from '../apps/server/test/mls.ts';
import { startRedis } from '../apps/server/test/redis.ts';
import { createGroup, inBatches, registerDevices, SendLoad, waitForLine } from './lib/relayLoad.ts';
import { percentile, printTable, writeResults } from './lib/report.ts';

const DEVICES = Number(process.env.SCALE_DEVICES ?? 2000);
const GROUP = 10;
const SECONDS = Number(process.env.SCALE_SECONDS ?? 8);
const INFLIGHT = Number(process.env.SCALE_INFLIGHT ?? 64);
const NODES = (process.env.SCALE_NODES ?? '1,2,3').split(',').map(Number);
const WARMUP_MS = 1500;
const CLI = fileURLToPath(new URL('../apps/cli/bin/doublelock.js', import.meta.url));

type Device = MlsDevice & { token: string; groupId: string };

async function startNode(args: string[]): Promise<{ url: string; child: ChildProcess; dataDir: string }> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'doublelock-scale-node-'));
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--data', dataDir, '--rate-limit', '1000000', '--log-level', 'warn', '--web-root', 'none', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  await waitForLine(child, 'is running at');
  return { url: `http://127.0.0.1:${port}`, child, dataDir };
}

const rssBytes = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

async function setUp(url: string): Promise<Device[]> {
  const registered: Device[] = (await registerDevices(url, DEVICES, 'scale')).map((d) => ({ ...d, groupId: '' }));
  await inBatches(Math.floor(DEVICES / GROUP), 4, async (g) => {
    const members = registered.slice(g * GROUP, g * GROUP + GROUP);
    const groupId = await createGroup(url, members);
    for (const m of members) m.groupId = groupId;
  });
  return registered.filter((d) => d.groupId);
}

/** Connects device i to node i mod n, measures idle memory, then keeps INFLIGHT sends outstanding. */
async function measure(nodes: Array<{ url: string; child: ChildProcess }>, devices: Device[]) {
  const rss = () => nodes.reduce((sum, n) => sum + rssBytes(n.child.pid!), 0);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const before = rss();
  const load = new SendLoad();
  const latencies: number[] = [];
  let deliveries = 0;
  const sockets = await inBatches(devices.length, 50, async (i) => {
    const ws = new WebSocket(nodes[i % nodes.length]!.url.replace('http', 'ws') + '/v1/ws');
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    await new Promise<void>((resolve) => {
      ws.on('message', (data) => {
        const frame = JSON.parse(String(data)) as ServerFrame;
        if (frame.type === 'ready') resolve();
        else if (frame.type === 'sent' || (frame.type === 'error' && frame.clientMessageId)) load.answered(frame.clientMessageId!);
        else if (frame.type === 'items') {
          const now = performance.now();
          for (const item of frame.items) {
            const start = load.sentAt.get(item.clientMessageId);
            if (load.measuring && start !== undefined) {
              deliveries++;
              latencies.push(now - start);
            }
          }
          ws.send(JSON.stringify({ type: 'ack', ids: frame.items.map((it) => it.id) }));
        }
      });
      ws.send(JSON.stringify({ type: 'auth', token: devices[i]!.token }));
    });
    return ws;
  });
  await new Promise((resolve) => setTimeout(resolve, 2000)); // idle: backlogs pushed, buffers settled
  const perConnection = (rss() - before) / devices.length;

  const { elapsed } = await load.run({ sockets, groupOf: (i) => devices[i]!.groupId, inflight: INFLIGHT, warmupMs: WARMUP_MS, seconds: SECONDS, answerTimeoutMs: 10_000 });
  latencies.sort((a, b) => a - b);
  return { perConnection, deliveriesPerS: deliveries / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

if (!findPostgresBin()) throw new Error('bench:scale needs PostgreSQL (see .ci/run)');
console.log(`bench:scale — ${DEVICES} devices in groups of ${GROUP}, ${INFLIGHT} sends in flight, ${SECONDS} s per run, nodes: ${NODES.join(', ')}\n`);
const pg = await startPostgres({ durable: true }); // as production runs it: an ack means on disk
const redis = await startRedis();
const blobDir = mkdtempSync(join(tmpdir(), 'doublelock-scale-blobs-'));
const results: Array<Record<string, unknown>> = [];
try {
  const databaseUrl = await pg.createDatabase('scale');
  const shared = ['--database-url', databaseUrl, '--redis-url', redis.url, '--blob-dir', blobDir];
  const setupNode = await startNode(shared);
  process.stdout.write(`setting up ${DEVICES} devices… `);
  const t = performance.now();
  const devices = await setUp(setupNode.url);
  console.log(`${((performance.now() - t) / 1000).toFixed(1)} s`);
  setupNode.child.kill('SIGTERM');
  await new Promise((resolve) => setupNode.child.once('exit', resolve));
  rmSync(setupNode.dataDir, { recursive: true, force: true });
  for (const n of NODES) {
    process.stdout.write(`${n} node${n > 1 ? 's' : ''}… `);
    const nodes = await Promise.all(Array.from({ length: n }, () => startNode(shared)));
    try {
      const r = await measure(nodes, devices);
      console.log(`${Math.round(r.deliveriesPerS)} deliveries/s`);
      results.push({
        nodes: n,
        devices: devices.length,
        bytes_per_idle_connection: Math.round(r.perConnection),
        deliveries_per_s: Math.round(r.deliveriesPerS),
        p50_ms: Number(r.p50.toFixed(2)),
        p99_ms: Number(r.p99.toFixed(2)),
        load: Number(loadavg()[0]!.toFixed(2)),
      });
    } finally {
      for (const node of nodes) node.child.kill('SIGTERM');
      await Promise.all(nodes.map((node) => new Promise((resolve) => (node.child.exitCode !== null ? resolve(null) : node.child.once('exit', resolve)))));
      for (const node of nodes) rmSync(node.dataDir, { recursive: true, force: true });
    }
  }
} finally {
  await redis.stop();
  await pg.stop();
  rmSync(blobDir, { recursive: true, force: true });
}
console.log();
printTable(results);
console.log(`\nwrote ${writeResults('scale', results)}`);
