/** Shared by the benchmarks: percentiles, a printed table, results as JSON, and an SVG bar chart. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

export function printTable(rows: Array<Record<string, unknown>>): void {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const cell = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : String(v ?? ''));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padStart(widths[i]!)).join('  ');
  console.log(line(columns));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(columns.map((c) => cell(row[c]))));
}

export function writeResults(name: string, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(path, JSON.stringify(data, null, 2) + '\n');
  return path;
}

/** A horizontal bar chart as SVG, for people who would rather look than read. */
export function writeBarChart(name: string, title: string, bars: Array<{ label: string; value: number }>, unit: string): string {
  const width = 720;
  const barHeight = 28;
  const left = 220;
  const max = Math.max(...bars.map((b) => b.value), 1);
  const height = 50 + bars.length * (barHeight + 10);
  const rows = bars
    .map((b, i) => {
      const y = 40 + i * (barHeight + 10);
      const w = Math.max(1, ((width - left - 120) * b.value) / max);
      return `<text x="${left - 8}" y="${y + 19}" text-anchor="end" font-size="13">${escape(b.label)}</text>
<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="#3b6ea5"/>
<text x="${left + w + 6}" y="${y + 19}" font-size="13">${formatNumber(b.value)} ${escape(unit)}</text>`;
    })
    .join('\n');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="12" y="24" font-size="16" font-weight="bold">${escape(title)}</text>
${rows}
</svg>
`;
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.svg`);
  writeFileSync(path, svg);
  return path;
}

const formatNumber = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-GB') : n.toFixed(2));
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
