/**
 * `npm run bench:cli`: the CLI's start-up, run as TypeScript through tsx's loader (DOUBLELOCK_FROM_SOURCE=1)
 * and as compiled JavaScript (apps/cli/dist, apps/cli/build.ts), in the same run, alternating:
 *  - `doublelock --help` (goal ≤ 0.2 s);
 *  - `doublelock send <chat> <text>` against a real server started in this process (goal ≤ 0.5 s of the
 *    command's own time: its CPU, user + system, measured by /usr/bin/time).
 * Medians of RUNS runs each. Writes bench/results/cli.json.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startTestServer } from '../apps/server/src/testing.ts';

const RUNS = Number(process.env.RUNS ?? 7);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(ROOT, 'apps/cli/bin/doublelock.js');
const exec = promisify(execFile);

await exec(process.execPath, ['--import', 'tsx', join(ROOT, 'apps/cli/build.ts')]);

type Mode = 'tsx' | 'compiled';
const env = (mode: Mode) => ({ ...process.env, DOUBLELOCK_FROM_SOURCE: mode === 'tsx' ? '1' : '0' });

/** Wall and CPU (user + system) seconds of one CLI run. */
async function timed(mode: Mode, args: string[]): Promise<{ wall: number; cpu: number }> {
  const { stderr } = await exec('/usr/bin/time', ['-f', 'TIME %e %U %S', process.execPath, CLI, ...args], { env: env(mode) });
  const [wall, user, sys] = /TIME (\S+) (\S+) (\S+)\s*$/.exec(stderr)!.slice(1).map(Number) as [number, number, number];
  return { wall, cpu: user + sys };
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = mkdtempSync(join(tmpdir(), 'doublelock-bench-cli-'));
const server = await startTestServer();
const alice = ['--profile', join(dir, 'alice')];
await exec(process.execPath, [CLI, 'register', 'alice', ...alice, '--server', server.url]);
await exec(process.execPath, [CLI, 'register', 'bob', '--profile', join(dir, 'bob'), '--server', server.url]);
const chatId = (await exec(process.execPath, [CLI, 'chat', 'create', 'bob', ...alice])).stdout.trim().split(': ')[1]!;

const commands: Record<string, string[]> = { '--help': ['--help'], send: ['send', chatId, 'hello', ...alice] };
const rows: Array<{ command: string; mode: Mode; wall_s: number; cpu_s: number }> = [];
for (const [command, args] of Object.entries(commands)) {
  const samples: Record<Mode, Array<{ wall: number; cpu: number }>> = { tsx: [], compiled: [] };
  for (let i = 0; i < RUNS; i++) for (const mode of ['tsx', 'compiled'] as const) samples[mode].push(await timed(mode, args));
  for (const mode of ['tsx', 'compiled'] as const) rows.push({ command, mode, wall_s: median(samples[mode].map((s) => s.wall)), cpu_s: median(samples[mode].map((s) => s.cpu)) });
}
await server.close();
rmSync(dir, { recursive: true, force: true });

const load = loadavg()[0]!;
console.log(`\nCLI start-up, medians of ${RUNS} runs (load average ${load.toFixed(2)})\n`);
console.log('| command | tsx wall s | compiled wall s | tsx CPU s | compiled CPU s | CPU ratio compiled/tsx |');
console.log('| --- | --- | --- | --- | --- | --- |');
const result = Object.keys(commands).map((command) => {
  const t = rows.find((r) => r.command === command && r.mode === 'tsx')!;
  const c = rows.find((r) => r.command === command && r.mode === 'compiled')!;
  console.log(`| ${command} | ${t.wall_s.toFixed(2)} | ${c.wall_s.toFixed(2)} | ${t.cpu_s.toFixed(2)} | ${c.cpu_s.toFixed(2)} | ${(c.cpu_s / t.cpu_s).toFixed(2)} |`);
  return { command, tsx_wall_s: t.wall_s, compiled_wall_s: c.wall_s, tsx_cpu_s: t.cpu_s, compiled_cpu_s: c.cpu_s, cpu_ratio: Number((c.cpu_s / t.cpu_s).toFixed(3)), runs: RUNS, load };
});
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/cli.json'), JSON.stringify(result, null, 2) + '\n');
