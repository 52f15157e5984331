/**
 * `doublelock moderation report`: the notice-and-action transparency report (issue 12, docs/CASES.md),
 * computed from the decisions, notices, orders and appeals in a server's store (SQLite in --data, or
 * PostgreSQL with --database-url) — the same computation as the server's /v1/moderation/reports, beside
 * the lawful-access `oversight report`. Formats: a text summary (default), JSON, SVG, or CSV (the DSA
 * harmonised template's parts, the TCO Art. 7(3) items and the NetzDG-style time buckets, one file each
 * in --out).
 */
import { computeReport, dsaTemplateCsv, netzdgCsv, reportChart, reportPeriod, tcoCsv, type TransparencyReport } from '@doublelock/cases';
import { DomainError } from '@doublelock/protocol';
import { openDb } from '@doublelock/store';
import type { Command } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { storeOptions, type StoreOptions } from './bank.ts';

const FORMATS = ['text', 'json', 'csv', 'svg'] as const;
type Format = (typeof FORMATS)[number];

interface ReportOptions extends StoreOptions {
  from: string;
  to: string;
  format: string;
  out?: string;
  service: string;
  provider?: string;
}

const hours = (ms: number | null) => (ms === null ? '–' : `${(ms / 3_600_000).toFixed(2)} h`);

/** The figures a reader looks for first; the JSON and CSV carry every one. */
export function renderText(r: TransparencyReport): string {
  const c = r.dsa.complaints;
  const a = r.dsa.automated;
  const own = [...r.dsa.ownInitiativeIllegal, ...r.dsa.ownInitiativeTerms];
  const b = r.netzdg.all;
  const lines = [
    `Transparency report ${r.period.from} – ${r.period.to} (generated ${r.generatedAt})`,
    '',
    'Removal orders (TCO Regulation)',
    `  received ${r.tco.orders}; complied with within one hour ${r.tco.ordersEffectedWithinHour}, later ${r.tco.ordersEffectedLate}; OPEN PAST THEIR HOUR ${r.tco.ordersOverdueOpen}; not acted on ${r.tco.ordersNotActedOn.length}`,
    ...r.tco.ordersNotActedOn.map((o) => `    ${o.authority} ${o.reference}: ${o.reason}`),
    `  items removed under orders ${r.tco.itemsRemovedUnderOrders}, by specific measures ${r.tco.itemsRemovedBySpecificMeasures}; re-uploads blocked ${r.tco.reuploadsBlocked}`,
    '',
    'Notices (DSA Art. 16) by category',
    ...(r.dsa.notices.length ? r.dsa.notices.map((n) => `  ${n.category.replace('STATEMENT_CATEGORY_', '')}: ${n.received} (trusted flaggers ${n.fromTrustedFlaggers}), acted on by law ${n.actionsLaw}, by terms ${n.actionsTerms}, median time to action ${hours(n.medianTimeToActionMs)}`) : ['  none']),
    '',
    'Own-initiative measures',
    `  ${own.reduce((s, m) => s + m.measures, 0)} measures, ${own.reduce((s, m) => s + m.automatedDetection, 0)} after automated detection; ${a.decisionsFullyAutomated} decisions fully automated`,
    `  held for review ${a.heldReviewed}, confirmed ${a.heldConfirmed}${a.heldPrecision === null ? '' : ` (precision ${(a.heldPrecision * 100).toFixed(1)} %)`}; automated decisions appealed ${a.fullyAutomatedAppealed}, reversed ${a.fullyAutomatedReversed}`,
    '',
    'Complaints (DSA Art. 20)',
    `  received ${c.received} (uploaders ${c.byUploaders}, notifiers ${c.byNotifiers}); upheld ${c.upheld}, reversed ${c.reversed}, pending ${c.pending}; median time to decide ${hours(c.medianTimeToDecideMs)}`,
    '',
    'Time from receipt to decision (all cases)',
    `  ≤ 24 h ${b.within24h}, ≤ 48 h ${b.within48h}, ≤ 7 days ${b.withinWeek}, later ${b.later}, not decided ${b.pending} (of ${b.total})`,
    '',
  ];
  return lines.join('\n');
}

async function report(options: ReportOptions): Promise<void> {
  if (!(FORMATS as readonly string[]).includes(options.format)) throw new Error(`--format must be one of ${FORMATS.join(', ')}, not "${options.format}"`);
  const format = options.format as Format;
  if (format === 'csv' && !options.out) throw new Error('--format csv writes several files: give the folder with --out <dir>');
  let period;
  try {
    period = reportPeriod(options.from, options.to);
  } catch (error) {
    throw new Error(`--from/--to: ${error instanceof DomainError ? error.message : String(error)}`);
  }
  const db = await openDb({ dataDir: options.data, databaseUrl: options.databaseUrl });
  let r: TransparencyReport;
  try {
    r = await computeReport(db, period, Date.now());
  } finally {
    await db.close();
  }
  if (format === 'csv') {
    const files: Record<string, string> = {
      ...dsaTemplateCsv(r, { service: options.service, provider: options.provider ?? options.service }),
      'tco_article_7.csv': tcoCsv(r),
      'netzdg_time_buckets.csv': netzdgCsv(r),
    };
    await mkdir(options.out!, { recursive: true });
    for (const [name, text] of Object.entries(files)) await writeFile(join(options.out!, name), text);
    for (const name of Object.keys(files)) console.log(join(options.out!, name));
    return;
  }
  const text = format === 'json' ? `${JSON.stringify(r, null, 2)}\n` : format === 'svg' ? reportChart(r) : renderText(r);
  if (options.out) await writeFile(options.out, text);
  else process.stdout.write(text);
}

export function register(program: Command): void {
  const moderation = program.command('moderation').description('notice and action: transparency reports computed from stored decisions');
  storeOptions(
    moderation
      .command('report')
      .description('the transparency report of a period: DSA harmonised template, TCO Art. 7(3), NetzDG-style time buckets')
      .requiredOption('--from <date>', 'first day, YYYY-MM-DD (UTC)')
      .requiredOption('--to <date>', 'last day, YYYY-MM-DD (UTC), included')
      .option('--format <format>', `${FORMATS.join(' | ')}`, 'text')
      .option('--out <path>', 'write to this file (a folder for csv) instead of standard output')
      .option('--service <name>', 'the service named in the DSA template', 'doublelock.localhost')
      .option('--provider <name>', 'the provider named in the DSA template (default: the service)'),
  ).action(report);
}
