/**
 * Mutation check of SQLite durability (`npm run mutate:sqlite-sync`): the store's `synchronous = FULL`
 * is turned to OFF, then NORMAL, and the fsync test of apps/server/test/durability.test.ts is run on each
 * mutant; it must fail on both (with OFF nothing is synced, with NORMAL in WAL mode commits are not
 * synced, only checkpoints), and pass again on the real source. The source file is restored at the end,
 * also on Ctrl-C. Exits non-zero if a mutant survives.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SOURCE = `${ROOT}packages/store/src/sqlite.ts`;
const SETTING = "raw.pragma('synchronous = FULL');";
const original = readFileSync(SOURCE, 'utf8');
if (!original.includes(SETTING)) throw new Error(`${SOURCE} no longer contains ${SETTING}: update this script`);
const restore = () => writeFileSync(SOURCE, original);
process.on('exit', restore);
process.on('SIGINT', () => process.exit(130));

const runTest = () =>
  spawnSync('npx', ['vitest', 'run', 'apps/server/test/durability.test.ts', '-t', 'SQLite fsync'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'ignore'] }).status;

let survived = 0;
for (const mutant of ['OFF', 'NORMAL']) {
  writeFileSync(SOURCE, original.replace(SETTING, `raw.pragma('synchronous = ${mutant}');`));
  const status = runTest();
  const killed = status !== 0;
  if (!killed) survived++;
  console.log(`synchronous = ${mutant}: ${killed ? 'the fsync test fails (mutant killed)' : 'the fsync test still passes (MUTANT SURVIVED)'}`);
}
restore();
const real = runTest();
console.log(`synchronous = FULL (the source): ${real === 0 ? 'the fsync test passes' : 'the fsync test FAILS'}`);
process.exit(survived > 0 || real !== 0 ? 1 : 0);
