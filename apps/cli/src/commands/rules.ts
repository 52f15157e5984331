/**
 * `doublelock rules import|test`: keyword and hashtag rule lists (text banks) and what they catch;
 * `doublelock sweep list|run|report`: retro-sweeps of content already published against new signals.
 * Both work on the store directly (--data or --database-url), like `doublelock bank`.
 */
import { createReadStream } from 'node:fs';
import { ChannelActioner, ChannelStore } from '@doublelock/channels';
import { BankStore, csvRecords, prepareSignal, runSweep, SweepStore, TextRules, textRule, type SignalInput, type Sweep } from '@doublelock/moderation';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { storeOptions, withBanks, type StoreOptions } from './bank.ts';

interface RuleRecord {
  rule?: unknown;
  labels?: unknown;
  severity?: unknown;
  action?: unknown;
}

function ruleSignal(r: RuleRecord): Required<SignalInput> {
  if (typeof r.rule !== 'string') throw new TypeError('every rule needs a "rule" (the keyword, phrase or #hashtag)');
  const labels = Array.isArray(r.labels) ? r.labels.map(String) : typeof r.labels === 'string' ? r.labels.split(/[\s,]+/).filter(Boolean) : [];
  return prepareSignal({ type: 'text', value: r.rule, labels, severity: (r.severity || null) as SignalInput['severity'], action: (r.action || null) as SignalInput['action'], source: 'rules import' });
}

/** Rules from a CSV (header rule,labels,severity,action) or JSON (an array, or { rules: [...] }) file. */
async function* readRules(file: string): AsyncGenerator<{ line: number; signal?: Required<SignalInput>; error?: string }> {
  if (/\.json$/i.test(file)) {
    const doc = JSON.parse(await readFile(file, 'utf8')) as RuleRecord[] | { rules: RuleRecord[] };
    const rules = Array.isArray(doc) ? doc : doc.rules;
    if (!Array.isArray(rules)) throw new Error(`${file}: expected an array of rules or { "rules": [...] }`);
    for (const [i, r] of rules.entries()) {
      try {
        yield { line: i + 1, signal: ruleSignal(r) };
      } catch (error) {
        yield { line: i + 1, error: (error as Error).message };
      }
    }
    return;
  }
  let header: string[] | undefined;
  for await (const { line, fields } of csvRecords(createReadStream(file, { encoding: 'utf8' }))) {
    if (!header) {
      header = fields.map((f) => f.trim().toLowerCase());
      if (!header.includes('rule')) throw new Error(`${file}: the CSV header must name a "rule" column (rule,labels,severity,action)`);
      continue;
    }
    if (fields.every((f) => !f.trim())) continue;
    try {
      yield { line, signal: ruleSignal(Object.fromEntries(header.map((h, i) => [h, fields[i] ?? '']))) };
    } catch (error) {
      yield { line, error: (error as Error).message };
    }
  }
}

function bar(label: string) {
  return new SingleBar({ format: `${label} [{bar}] {percentage}% | {value}/{total} | {phase} | {eta_formatted} left`, stream: process.stderr }, Presets.shades_classic);
}

/** Runs queued sweeps (or one) in the foreground with a progress bar, acting on channel posts. */
export async function runSweepsHere(options: StoreOptions, only?: number, progress = true): Promise<Sweep[]> {
  return withBanks(options, async (_banks, db) => {
    const store = new SweepStore(db);
    const actioner = new ChannelActioner(new ChannelStore(db), Date.now);
    const done: Sweep[] = [];
    for (;;) {
      const sweep = only !== undefined ? await store.get(only) : await store.claim();
      if (!sweep || (only !== undefined && done.length)) break;
      const b = progress ? bar(`sweep #${sweep.id} ${sweep.bank}`) : undefined;
      b?.start(Math.max(1, sweep.total), sweep.checked, { phase: sweep.phase });
      try {
        const report = await runSweep({ db, sweepId: sweep.id, actioner, onProgress: (s) => (b?.setTotal(Math.max(1, s.total)), b?.update(Math.min(s.checked, Math.max(1, s.total)), { phase: s.phase })) });
        b?.update(Math.max(1, report.total), { phase: 'done' });
        done.push(report);
      } finally {
        b?.stop();
      }
      if (only !== undefined) break;
    }
    return done;
  });
}

export function register(program: Command): void {
  const rules = program.command('rules').description('keyword and hashtag rules (a rule list is a text bank)');

  storeOptions(rules.command('import <bank> <file>').description('import rules from CSV (rule,labels,severity,action) or JSON'))
    .option('--create', 'create the bank if it does not exist')
    .option('--skip-invalid', 'skip bad rows (listing them) instead of importing nothing')
    .option('--no-sweep', 'do not queue a retro-sweep of published posts against the new rules')
    .action(async (bank: string, file: string, options: StoreOptions & { create?: boolean; skipInvalid?: boolean; sweep: boolean }) => {
      const skipped: string[] = [];
      const { imported, sweep } = await withBanks(options, async (banks, db) => {
        if (options.create) await banks.createBank(bank, 'text rules');
        const before = await banks.maxSignalId();
        async function* signals() {
          for await (const row of readRules(file)) {
            if (row.error !== undefined) {
              if (!options.skipInvalid) throw new Error(`${file} line ${row.line}: ${row.error} (nothing imported; --skip-invalid skips bad rows)`);
              skipped.push(`line ${row.line}: ${row.error}`);
            } else yield row.signal!;
          }
        }
        const imported = await banks.importSignals(bank, signals());
        const after = await banks.maxSignalId();
        const sweep = options.sweep && after > before ? await new SweepStore(db).create({ bank, afterSignalId: before, uptoSignalId: after }) : undefined;
        return { imported, sweep };
      });
      process.stdout.write(`Imported ${imported} rules into ${bank}${skipped.length ? `, skipped ${skipped.length}` : ''}.\n`);
      for (const s of skipped.slice(0, 20)) process.stderr.write(`  skipped ${s}\n`);
      if (sweep) process.stdout.write(`Queued retro-sweep #${sweep.id} (a running server does it; or: doublelock sweep run ${sweep.id}).\n`);
    });

  storeOptions(rules.command('test <text>').description('show what the rules of the given banks catch in a text, with offsets'))
    .option('--bank <name...>', 'banks to test (default: every bank with text rules)')
    .option('--json', 'print matches as JSON')
    .action(async (text: string, options: StoreOptions & { bank?: string[]; json?: boolean }) => {
      const matches = await withBanks(options, async (banks: BankStore) => {
        const names = options.bank ?? (await banks.listBanks()).filter((b) => b.counts.text).map((b) => b.name);
        const compiled = new TextRules();
        for (const name of names) {
          if (!(await banks.getBank(name))) throw new Error(`no bank named "${name}"`);
          for await (const s of banks.signals(name, { types: ['text'] })) compiled.add(textRule(s));
        }
        return compiled.match(text);
      });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(matches.map((m) => ({ rule: m.rule.value, bank: m.rule.bank, action: m.rule.action, severity: m.rule.severity, labels: m.rule.labels, start: m.start, end: m.end, text: m.text, allowed: m.allowed })))}\n`);
        return;
      }
      if (!matches.length) process.stdout.write('No rule matches.\n');
      for (const m of matches) {
        process.stdout.write(`${m.allowed ? 'allowed ' : ''}${m.rule.action} [${m.start}, ${m.end}) "${m.text}" ← ${m.rule.bank}: ${m.rule.value}${m.rule.labels.length ? ` (${m.rule.labels.join(', ')}` : ' ('}${m.rule.severity ? `${m.rule.labels.length ? ', ' : ''}${m.rule.severity}` : ''})\n`);
      }
    });

  const sweep = program.command('sweep').description('retro-sweeps: published posts checked against a bank’s new signals');

  storeOptions(sweep.command('list').description('recent sweeps and their progress')).action(async (options: StoreOptions) => {
    const sweeps = await withBanks(options, (_b, db) => new SweepStore(db).list());
    if (!sweeps.length) process.stdout.write('No sweeps.\n');
    for (const s of sweeps) process.stdout.write(`#${s.id} ${s.bank} ${s.status} ${s.phase} ${s.checked}/${s.total} checked, ${s.matched} matched, ${s.actioned} acted on${s.error ? ` — ${s.error}` : ''}\n`);
  });

  storeOptions(sweep.command('run [id]').description('run queued sweeps (or this one) here, with progress; resumes where a sweep stopped'))
    .option('--no-progress', 'no progress bar')
    .action(async (id: string | undefined, options: StoreOptions & { progress: boolean }) => {
      const done = await runSweepsHere(options, id === undefined ? undefined : Number(id), options.progress);
      if (!done.length) process.stdout.write('Nothing to sweep.\n');
      for (const s of done) process.stdout.write(`Sweep #${s.id}: ${s.checked} content signals checked, ${s.matched} posts matched, ${s.actioned} acted on.\n`);
    });

  storeOptions(sweep.command('report <id>').description('what a sweep found and what was done'))
    .option('--json', 'the whole report as JSON')
    .action(async (id: string, options: StoreOptions & { json?: boolean }) => {
      const report = await withBanks(options, (_b, db) => new SweepStore(db).report(Number(id)));
      if (!report) throw new Error(`no sweep #${id}`);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        return;
      }
      process.stdout.write(`Sweep #${report.id} of ${report.bank}: ${report.status}, ${report.checked}/${report.total} checked, ${report.matched} matched, ${report.actioned} acted on.\n`);
      for (const [verdict, n] of Object.entries(report.byVerdict)) process.stdout.write(`  ${verdict}: ${n}\n`);
      for (const f of report.findings.slice(0, 50)) process.stdout.write(`  ${f.subject} → ${f.verdict}${f.decisionId ? ` (decision ${f.decisionId})` : ''}: ${[...new Set(f.matches.flatMap((m) => m.labels))].join(', ')}\n`);
    });
}
