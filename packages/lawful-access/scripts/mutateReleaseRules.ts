/**
 * Mutation check of the custodian's release rules (`npm run mutate:release-rules`): each rule in
 * release.ts — every `if (…) return refuse(…)` in evaluateShareRequest — is switched off in turn
 * (its condition made `false && (…)`), the release-rule tests are run, and the rule counts as covered
 * only if some test then fails. The mutants are made in a scratch copy of the package
 * (packages/lawful-access-mutant, removed at the end), so the real source is never touched. Exits
 * non-zero when a rule can be removed with every test still green: that rule is not really tested.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PACKAGE = fileURLToPath(new URL('../', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRATCH = fileURLToPath(new URL('../../lawful-access-mutant/', import.meta.url));
rmSync(SCRATCH, { recursive: true, force: true });
cpSync(`${PACKAGE}src`, `${SCRATCH}src`, { recursive: true });
cpSync(`${PACKAGE}test`, `${SCRATCH}test`, { recursive: true });
process.on('exit', () => rmSync(SCRATCH, { recursive: true, force: true }));
process.on('SIGINT', () => process.exit(130));
const SOURCE = `${SCRATCH}src/release.ts`;
const TESTS = ['packages/lawful-access-mutant/test/release.test.ts'];
const original = readFileSync(SOURCE, 'utf8');

/** Each rule: the `if (` of a statement whose body is `return refuse(…)`, with its condition's extent. */
function rules(source: string): Array<{ at: number; end: number; code: string; line: number }> {
  const body = source.indexOf('export function evaluateShareRequest');
  const found = [];
  for (let at = source.indexOf('if (', body); at >= 0; at = source.indexOf('if (', at + 1)) {
    let depth = 0;
    let end = at + 3;
    for (; end < source.length; end++) {
      if (source[end] === '(') depth++;
      else if (source[end] === ')' && --depth === 0) break;
    }
    const after = source.slice(end + 1, end + 200).trimStart();
    const refusal = /^return refuse\('([a-z_]+)'|^return refuse\(([a-z.]+)/.exec(after);
    if (refusal) found.push({ at, end, code: refusal[1] ?? refusal[2]!, line: source.slice(0, at).split('\n').length });
  }
  return found;
}

const all = rules(original);
const survivors: string[] = [];
for (const [i, rule] of all.entries()) {
  const condition = original.slice(rule.at + 4, rule.end);
  writeFileSync(SOURCE, `${original.slice(0, rule.at)}if (false && (${condition}))${original.slice(rule.end + 1)}`);
  const run = spawnSync('npx', ['vitest', 'run', ...TESTS], { cwd: ROOT, encoding: 'utf8' });
  const killed = run.status !== 0;
  if (!killed) survivors.push(`${rule.code} (line ${rule.line})`);
  console.log(`${String(i + 1).padStart(2)}/${all.length}  ${rule.code.padEnd(24)} line ${String(rule.line).padEnd(4)} ${killed ? 'caught: a test fails without it' : 'SURVIVED: no test fails without it'}`);
  writeFileSync(SOURCE, original);
}
if (survivors.length > 0) {
  console.error(`rules no test needs: ${survivors.join(', ')}`);
  process.exit(1);
}
console.log(`all ${all.length} release rules are needed by some test`);
