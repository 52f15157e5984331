/**
 * `doublelock bank …`: moderation banks in the store (SQLite in --data, or PostgreSQL with
 * --database-url). Import and export speak ThreatExchange/HMA formats (CSV, JSON, TXT; see
 * packages/moderation/src/bankFormats.ts); large imports show a progress bar on stderr.
 */
import { createReadStream, createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import {
  BANK_FORMATS,
  BankSettingsStore,
  BankStore,
  SweepStore,
  formatFromPath,
  formatVpdqSignal,
  isSignalType,
  parseVpdqHashFile,
  readBankSignals,
  writeBankSignals,
  type BankFormat,
  type SignalInput,
} from '@doublelock/moderation';
import { openDb, type Db } from '@doublelock/store';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';

export interface StoreOptions {
  data: string;
  databaseUrl?: string;
}

export async function withBanks<T>(options: StoreOptions, fn: (banks: BankStore, db: Db) => Promise<T>): Promise<T> {
  const db = await openDb({ dataDir: options.data, databaseUrl: options.databaseUrl });
  try {
    return await fn(new BankStore(db), db);
  } finally {
    await db.close();
  }
}

export function storeOptions(command: Command): Command {
  return command
    .option('--data <dir>', 'data folder of the embedded (SQLite) store', process.env.DOUBLELOCK_DATA ?? './data')
    .option('--database-url <url>', 'use PostgreSQL at this URL instead of SQLite', process.env.DATABASE_URL);
}

function checkFormat(format: string | undefined, path: string): BankFormat {
  if (format === undefined) return formatFromPath(path);
  if (!(BANK_FORMATS as readonly string[]).includes(format)) throw new Error(`--format must be one of ${BANK_FORMATS.join(', ')}, not "${format}"`);
  return format as BankFormat;
}

async function write(out: Writable, chunk: string): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

export function register(program: Command): void {
  const bank = program.command('bank').description('moderation banks: named collections of hashes and URLs of known terrorist content');

  storeOptions(bank.command('list').description('list banks with their live signals by type'))
    .option('--json', 'one JSON object a line')
    .action(async (options: StoreOptions & { json?: boolean }) => {
      const banks = await withBanks(options, (b) => b.listBanks());
      if (options.json) for (const b of banks) process.stdout.write(`${JSON.stringify(b)}\n`);
      else if (!banks.length) process.stdout.write('No banks. Create one with: doublelock bank create NAME\n');
      else {
        for (const b of banks) {
          const counts = Object.entries(b.counts).map(([t, n]) => `${t} ${n}`).join(', ') || 'empty';
          process.stdout.write(`${b.name}  ${counts}${b.removed ? `  (${b.removed} removed)` : ''}${b.description ? `  — ${b.description}` : ''}\n`);
        }
      }
    });

  storeOptions(bank.command('create').description('create a bank').argument('<name>'))
    .option('--description <text>', 'what the bank holds', '')
    .action(async (name: string, options: StoreOptions & { description: string }) => {
      await withBanks(options, (b) => b.createBank(name, options.description));
      process.stdout.write(`Bank ${name} is ready.\n`);
    });

  storeOptions(
    bank
      .command('add')
      .description('add one signal')
      .argument('<name>')
      .argument('<type>', 'pdq, md5, sha256, url or vpdq')
      .argument('<value>', 'the hash or URL rule; for vpdq, the signal string or a vpdq-hash-video hash file'),
  )
    .option('--label <label...>', 'labels from the taxonomy (docs/MODERATION.md)')
    .option('--source <source>', 'where the signal comes from', '')
    .action(async (name: string, type: string, value: string, options: StoreOptions & { label?: string[]; source: string }) => {
      if (!isSignalType(type)) throw new Error(`unknown signal type "${type}": use pdq, md5, sha256, url or vpdq`);
      if (type === 'vpdq' && !value.trimStart().startsWith('[') && existsSync(value)) value = formatVpdqSignal(parseVpdqHashFile(readFileSync(value, 'utf8')));
      const s = await withBanks(options, (b) => b.addSignal(name, { type, value, labels: options.label ?? [], source: options.source }));
      process.stdout.write(`Added ${s.type} ${s.value.length > 80 ? `${s.value.slice(0, 64)}…` : s.value} to ${name} (#${s.id}).\n`);
    });

  storeOptions(bank.command('remove').description('remove one signal (kept as a tombstone for peers)').argument('<name>').argument('<type>').argument('<value>')).action(
    async (name: string, type: string, value: string, options: StoreOptions) => {
      if (!isSignalType(type)) throw new Error(`unknown signal type "${type}"`);
      const removed = await withBanks(options, (b) => b.removeSignal(name, type, value));
      if (!removed) throw new Error(`${name} holds no live ${type} ${value}`);
      process.stdout.write(`Removed ${type} ${value} from ${name}.\n`);
    },
  );

  storeOptions(bank.command('import').description('import signals from a ThreatExchange/HMA CSV, JSON or TXT file').argument('<name>').argument('<file>'))
    .option('--format <format>', `one of ${BANK_FORMATS.join(', ')} (default: from the file extension)`)
    .option('--create', 'create the bank if it does not exist')
    .option('--skip-invalid', 'skip malformed rows (listing them) instead of importing nothing')
    .option('--no-progress', 'no progress bar')
    .option('--no-sweep', 'do not queue a retro-sweep of published posts against the new signals')
    .action(async (name: string, file: string, options: StoreOptions & { format?: string; create?: boolean; skipInvalid?: boolean; progress: boolean; sweep: boolean }) => {
      const format = checkFormat(options.format, file);
      const size = statSync(file).size;
      const bar = options.progress && size > 256 * 1024 ? new SingleBar({ format: `import ${name} [{bar}] {percentage}% | {rows} rows | {eta_formatted} left`, stream: process.stderr }, Presets.shades_classic) : undefined;
      const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
      let rows = 0;
      const skipped: string[] = [];
      bar?.start(size, 0, { rows });
      async function* signals(): AsyncGenerator<Required<SignalInput>> {
        for await (const row of readBankSignals(stream, format)) {
          if ('error' in row) {
            if (!options.skipInvalid) throw new Error(`${file} line ${row.line}: ${row.error} (nothing imported; --skip-invalid skips bad rows)`);
            skipped.push(`line ${row.line}: ${row.error}`);
            continue;
          }
          yield row.signal;
          if (++rows % 1000 === 0) bar?.update(stream.bytesRead, { rows });
        }
      }
      try {
        const { imported, sweep } = await withBanks(options, async (b, db) => {
          if (options.create) await b.createBank(name);
          const before = await b.maxSignalId();
          const imported = await b.importSignals(name, signals());
          const after = await b.maxSignalId();
          // content already published is checked against what arrived (a running server does the sweep)
          const sweep = options.sweep && after > before ? await new SweepStore(db).create({ bank: name, afterSignalId: before, uptoSignalId: after }) : undefined;
          return { imported, sweep };
        });
        bar?.update(size, { rows });
        bar?.stop();
        process.stdout.write(`Imported ${imported} signals into ${name}${skipped.length ? `, skipped ${skipped.length} malformed rows` : ''}.\n`);
        if (sweep) process.stdout.write(`Queued retro-sweep #${sweep.id} (a running server does it; or: doublelock sweep run ${sweep.id}).\n`);
        for (const s of skipped.slice(0, 20)) process.stderr.write(`  skipped ${s}\n`);
        if (skipped.length > 20) process.stderr.write(`  … and ${skipped.length - 20} more\n`);
      } finally {
        bar?.stop();
        stream.destroy();
      }
    });

  storeOptions(bank.command('settings <name>').description("show or change a bank's matching settings"))
    .option('--enable', 'match this bank')
    .option('--disable', 'stop matching this bank')
    .option('--negative', 'known-good content: a match here vetoes other banks')
    .option('--positive', 'an ordinary bank again')
    .option('--threshold <bits>', 'PDQ distance at or under which a match counts (0–43)')
    .option('--rollout <percent>', 'share of content the bank acts on (0–100)')
    .option('--action <action>', 'what a match does: block, hold or label')
    .option('--public-label <text>', 'what uploaders are told a match came from')
    .option('--json', 'print the settings as JSON')
    .action(async (name: string, options: StoreOptions & { enable?: boolean; disable?: boolean; negative?: boolean; positive?: boolean; threshold?: string; rollout?: string; action?: string; publicLabel?: string; json?: boolean }) => {
      const number = (v: string | undefined, what: string) => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isFinite(n)) throw new Error(`${what} must be a number, not "${v}"`);
        return n;
      };
      const change = {
        ...(options.enable && { enabled: true }),
        ...(options.disable && { enabled: false }),
        ...(options.negative && { negative: true }),
        ...(options.positive && { negative: false }),
        ...(options.threshold !== undefined && { pdqThreshold: number(options.threshold, '--threshold') }),
        ...(options.rollout !== undefined && { rolloutPercent: number(options.rollout, '--rollout') }),
        ...(options.action !== undefined && { action: options.action as 'block' }),
        ...(options.publicLabel !== undefined && { publicLabel: options.publicLabel }),
      };
      const s = await withBanks(options, async (_b, db) => {
        const store = new BankSettingsStore(db);
        return Object.keys(change).length ? store.set(name, change) : store.get(name);
      });
      if (options.json) process.stdout.write(`${JSON.stringify(s)}\n`);
      else process.stdout.write(`${s.bank}: ${s.enabled ? 'enabled' : 'disabled'}${s.negative ? ', negative' : ''}, PDQ threshold ${s.pdqThreshold}, rollout ${s.rolloutPercent}%, action ${s.action}, shown as "${s.publicLabel}"\n`);
    });

  storeOptions(bank.command('export').description('export a bank as CSV, JSON or TXT (ThreatExchange/HMA compatible)').argument('<name>').argument('[file]', 'output file (default: standard output)'))
    .option('--format <format>', `one of ${BANK_FORMATS.join(', ')} (default: from the file extension, else csv)`)
    .option('--include-removed', 'include removed signals (tombstones) so peers can sync removals')
    .action(async (name: string, file: string | undefined, options: StoreOptions & { format?: string; includeRemoved?: boolean }) => {
      const format = file && file !== '-' ? checkFormat(options.format, file) : checkFormat(options.format ?? 'csv', '');
      await withBanks(options, async (b) => {
        if (!(await b.getBank(name))) throw new Error(`no bank named "${name}"`);
        const out = file && file !== '-' ? createWriteStream(file) : process.stdout;
        for await (const chunk of writeBankSignals(name, b.signals(name, { includeRemoved: options.includeRemoved }), format)) await write(out, chunk);
        if (out !== process.stdout) {
          out.end();
          await once(out, 'finish');
        }
      });
    });
}
