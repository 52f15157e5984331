/**
 * bench:relay — end-to-end relay throughput and latency with 1,000+ connected devices.
 *
 * Starts the real server (a child process: SQLite, then PostgreSQL when installed), registers and
 * authenticates DEVICES devices, puts half of them in groups of 2 and half in groups of 50, connects
 * every device's WebSocket, then for SECONDS keeps INFLIGHT sends outstanding (closed loop: the highest
 * rate the server sustains). Every push is acknowledged at once. Reported: deliveries per second (one per
 * receiving device) and p50/p99 latency from send to push received, next to a bare `ws` relay with no
 * persistence driven by the same load generator in the same run (the ceiling), measured right before each
 * store's load (after that store's slow set-up), so the two see the same machine load. Also reported: the
 * servers' CPU per delivery (the Doublelock process plus PostgreSQL's, or the bare relay's), which moves
 * much less with the machine's load than throughput does.
 *
 * Env: RELAY_DEVICES (1000), RELAY_SECONDS (10), RELAY_INFLIGHT (64), RELAY_STORES (sqlite,postgres).
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { toBase64Url, type ServerFrame } from '@doublelock/protocol';
import { findPostgresBin, freePort, startPostgres } from '@doublelock/store/test-postgres';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { childrenRunning, cpuSeconds } from './lib/processCpu.ts';
import { createGroup, inBatches, registerDevices, SendLoad, waitForLine } from './lib/relayLoad.ts';
import { percentile, printTable, writeBarChart, writeResults } from './lib/report.ts';

const DEVICES = Number(process.env.RELAY_DEVICES ?? 1000);
const SECONDS = Number(process.env.RELAY_SECONDS ?? 10);
const INFLIGHT = Number(process.env.RELAY_INFLIGHT ?? 64);
const WARMUP_MS = 1500;
const CLI = fileURLToPath(new URL('../apps/cli/bin/doublelock.js', import.meta.url));
const BARE = fileURLToPath(new URL('./bare-relay.ts', import.meta.url));

interface BenchDevice {
  deviceId: string;
  token: string;
  groupId: string;
  groupSize: number;
}

/** Sizes of the groups: half the devices in pairs, half in groups of 50. */
function groupPlan(devices: number): number[] {
  const sizes: number[] = [];
  const half = Math.floor(devices / 2);
  for (let i = 0; i + 2 <= half; i += 2) sizes.push(2);
  let rest = devices - sizes.length * 2;
  while (rest >= 50) {
    sizes.push(50);
    rest -= 50;
  }
  if (rest >= 2) sizes.push(rest);
  return sizes;
}

async function setUpDoublelock(url: string): Promise<BenchDevice[]> {
  const registered = await registerDevices(url, DEVICES, 'bench');
  const devices: BenchDevice[] = [];
  let offset = 0;
  for (const size of groupPlan(DEVICES)) {
    const members = registered.slice(offset, offset + size);
    offset += size;
    const groupId = await createGroup(url, members);
    for (const m of members) devices.push({ deviceId: m.deviceId, token: m.token, groupId, groupSize: size });
  }
  return devices;
}

function setUpBare(): BenchDevice[] {
  const devices: BenchDevice[] = [];
  let n = 0;
  for (const size of groupPlan(DEVICES)) {
    const groupId = toBase64Url(randomBytes(16));
    for (let i = 0; i < size; i++) devices.push({ deviceId: `bare${n++}`, token: '', groupId, groupSize: size });
  }
  return devices;
}

interface LoadResult {
  /** CPU microseconds of the server processes per delivery */
  cpuUsPerDelivery: number;
  deliveriesPerS: number;
  sendsPerS: number;
  p50: number;
  p99: number;
  byGroupSize: Record<string, { deliveries_per_s: number; p50_ms: number; p99_ms: number }>;
}

/** Connects every device, then keeps INFLIGHT sends outstanding for SECONDS; `servers`: the processes whose CPU is counted. */
async function drive(wsUrl: string, devices: BenchDevice[], bare: boolean, servers: number[]): Promise<LoadResult> {
  let cpu = 0;
  const onMeasuring = (on: boolean) => (cpu = on ? cpuSeconds(servers) : cpuSeconds(servers) - cpu);
  const load = new SendLoad();
  const latencies = new Map<number, number[]>();
  let deliveries = 0;
  const deliveriesBySize = new Map<number, number>();

  const sockets = await inBatches(devices.length, 50, async (i) => {
    const device = devices[i]!;
    const ws = new WebSocket(wsUrl);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const ready = new Promise<void>((resolve) => {
      ws.on('message', (data) => {
        const frame = JSON.parse(String(data)) as ServerFrame;
        if (frame.type === 'ready') resolve();
        else if (frame.type === 'sent') load.answered(frame.clientMessageId);
        else if (frame.type === 'error') {
          if (frame.clientMessageId) load.answered(frame.clientMessageId);
          else console.error('socket error', frame);
        } else if (frame.type === 'items') {
          const now = performance.now();
          for (const item of frame.items) {
            const start = load.sentAt.get(item.clientMessageId);
            if (load.measuring && start !== undefined) {
              deliveries++;
              deliveriesBySize.set(device.groupSize, (deliveriesBySize.get(device.groupSize) ?? 0) + 1);
              let list = latencies.get(device.groupSize);
              if (!list) latencies.set(device.groupSize, (list = []));
              list.push(now - start);
            }
          }
          ws.send(JSON.stringify({ type: 'ack', ids: frame.items.map((it) => it.id) }));
        }
      });
    });
    ws.send(JSON.stringify(bare ? { type: 'auth', token: device.deviceId, groups: [device.groupId] } : { type: 'auth', token: device.token }));
    await ready;
    return ws;
  });

  const { elapsed, sends } = await load.run({ sockets, groupOf: (i) => devices[i]!.groupId, inflight: INFLIGHT, warmupMs: WARMUP_MS, seconds: SECONDS, onMeasuring });

  const all = [...latencies.values()].flat().sort((a, b) => a - b);
  const byGroupSize: LoadResult['byGroupSize'] = {};
  for (const [size, list] of latencies) {
    list.sort((a, b) => a - b);
    byGroupSize[String(size)] = { deliveries_per_s: (deliveriesBySize.get(size) ?? 0) / elapsed, p50_ms: percentile(list, 50), p99_ms: percentile(list, 99) };
  }
  return { cpuUsPerDelivery: (cpu / deliveries) * 1e6, deliveriesPerS: deliveries / elapsed, sendsPerS: sends / elapsed, p50: percentile(all, 50), p99: percentile(all, 99), byGroupSize };
}

async function runBare(): Promise<LoadResult> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', BARE, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await waitForLine(child, 'listening');
    return await drive(`ws://127.0.0.1:${port}`, setUpBare(), true, [child.pid!]);
  } finally {
    child.kill('SIGKILL');
  }
}

/** The store's run, and the bare relay's run just before its load (after its set-up). */
async function runDoublelock(databaseUrl?: string): Promise<{ r: LoadResult; bare: LoadResult }> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'doublelock-bench-'));
  const args = [CLI, 'serve', '--port', String(port), '--data', dataDir, '--rate-limit', '1000000', '--log-level', 'warn', ...(databaseUrl ? ['--database-url', databaseUrl] : [])];
  // RELAY_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the server.
  const nodeArgs = process.env.RELAY_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await waitForLine(child, 'is running at');
    const url = `http://127.0.0.1:${port}`;
    process.stdout.write(`  setting up ${DEVICES} devices… `);
    const t = performance.now();
    const devices = await setUpDoublelock(url);
    console.log(`${((performance.now() - t) / 1000).toFixed(1)} s`);
    console.log('  bare ws relay (no persistence), now…');
    const bare = await runBare();
    const servers = [child.pid!, ...(databaseUrl ? childrenRunning('postgres') : [])];
    return { r: await drive(`ws://127.0.0.1:${port}/v1/ws`, devices, false, servers), bare };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// The server runs compiled (apps/cli/dist), as `npm start` runs it: build it if a source changed since.
execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../apps/cli/build.ts', import.meta.url))], { stdio: 'inherit' });

const results: Array<Record<string, unknown>> = [];
console.log(`bench:relay — ${DEVICES} devices (half in groups of 2, half in groups of 50), ${INFLIGHT} sends in flight, ${SECONDS} s per run\n`);
const stores: Array<{ store: 'sqlite' | 'postgres'; url?: string }> = [{ store: 'sqlite' }];
const wanted = (process.env.RELAY_STORES ?? 'sqlite,postgres').split(',');
if (!wanted.includes('sqlite')) stores.length = 0;
// Durable, as production runs it: SQLite acknowledges only after fsync (synchronous=FULL), so PostgreSQL must too.
const pg = wanted.includes('postgres') && findPostgresBin() ? await startPostgres({ durable: true }) : undefined;
if (pg) stores.push({ store: 'postgres', url: pg.url });
else if (wanted.includes('postgres')) console.log('PostgreSQL not installed: skipping the postgres run (install it, see .ci/run).');
try {
  for (const { store, url } of stores) {
    console.log(`doublelock on ${store}…`);
    const { r, bare: baseline } = await runDoublelock(url);
    results.push({
      store,
      devices: DEVICES,
      msgs_per_s: Math.round(r.deliveriesPerS),
      sends_per_s: Math.round(r.sendsPerS),
      p50_ms: Number(r.p50.toFixed(2)),
      p99_ms: Number(r.p99.toFixed(2)),
      baseline_msgs_per_s: Math.round(baseline.deliveriesPerS),
      baseline_p50_ms: Number(baseline.p50.toFixed(2)),
      baseline_p99_ms: Number(baseline.p99.toFixed(2)),
      ratio_to_baseline: Number((r.deliveriesPerS / baseline.deliveriesPerS).toFixed(3)),
      cpu_us_per_delivery: Number(r.cpuUsPerDelivery.toFixed(1)),
      baseline_cpu_us_per_delivery: Number(baseline.cpuUsPerDelivery.toFixed(1)),
      by_group_size: r.byGroupSize,
      load: Number(loadavg()[0]!.toFixed(2)), // (1 min, at the end of the run: the figures move with it)
    });
  }
} finally {
  await pg?.stop();
}

console.log();
printTable(results.map(({ by_group_size: _, ...row }) => row));
console.log(`\nwrote ${writeResults('relay', results)}`);
console.log(
  `chart ${writeBarChart('relay', `Deliveries per second, ${DEVICES} devices (higher is better)`, [
    ...results.map((r) => ({ label: `bare ws relay (ceiling, before ${String(r.store)})`, value: Number(r.baseline_msgs_per_s) })),
    ...results.map((r) => ({ label: `doublelock / ${String(r.store)}`, value: Number(r.msgs_per_s) })),
  ], 'msg/s')}`,
);
