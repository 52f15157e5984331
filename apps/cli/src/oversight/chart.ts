/**
 * A small SVG chart of the public statistics: two panels over the same months, warrants issued (and
 * modified, stacked) and messages decrypted, each with its own scale since their magnitudes differ.
 * Hand-written SVG 1.1: no charting dependency, text escaped, deterministic output.
 */
import type { MonthStatistics } from './tally.ts';

const WIDTH = 720;
const PANEL = 180;
const LEFT = 56;
const RIGHT = 16;
const TOP = 40;
const GAP = 56;

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A round axis maximum (1, 2 or 5 × 10^k) at or above `max`, and at least 1. */
function niceMax(max: number): number {
  if (max <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

interface Series {
  label: string;
  color: string;
  value: (m: MonthStatistics) => number;
}

function panel(title: string, months: MonthStatistics[], series: Series[], top: number): string[] {
  const max = niceMax(Math.max(0, ...months.map((m) => series.reduce((n, s) => n + s.value(m), 0))));
  const plotWidth = WIDTH - LEFT - RIGHT;
  const slot = plotWidth / Math.max(1, months.length);
  const bar = Math.max(2, Math.min(48, slot * 0.6));
  const y = (v: number) => top + PANEL - (v / max) * PANEL;
  const out = [`<text x="${LEFT}" y="${top - 10}" font-weight="bold">${escape(title)}</text>`];
  // Counts are whole numbers: a half-way gridline only where it falls on one.
  for (const tick of max % 2 === 0 ? [0, max / 2, max] : [0, max]) {
    out.push(`<line x1="${LEFT}" y1="${y(tick)}" x2="${WIDTH - RIGHT}" y2="${y(tick)}" stroke="#ddd"/>`);
    out.push(`<text x="${LEFT - 6}" y="${y(tick) + 4}" text-anchor="end">${tick}</text>`);
  }
  months.forEach((m, i) => {
    const x = LEFT + i * slot + (slot - bar) / 2;
    let base = 0;
    for (const s of series) {
      const v = s.value(m);
      if (v > 0) out.push(`<rect x="${x.toFixed(1)}" y="${y(base + v).toFixed(1)}" width="${bar.toFixed(1)}" height="${(y(base) - y(base + v)).toFixed(1)}" fill="${s.color}"><title>${escape(`${m.month}: ${v} ${s.label}`)}</title></rect>`);
      base += v;
    }
    if (months.length <= 24 || i % Math.ceil(months.length / 24) === 0) out.push(`<text x="${(x + bar / 2).toFixed(1)}" y="${top + PANEL + 16}" text-anchor="middle">${m.month}</text>`);
  });
  out.push(`<line x1="${LEFT}" y1="${top + PANEL}" x2="${WIDTH - RIGHT}" y2="${top + PANEL}" stroke="#333"/>`);
  series.forEach((s, i) => {
    const x = WIDTH - RIGHT - 170 * (series.length - i);
    out.push(`<rect x="${x}" y="${top - 20}" width="10" height="10" fill="${s.color}"/><text x="${x + 14}" y="${top - 11}">${escape(s.label)}</text>`);
  });
  return out;
}

export function statisticsChart(months: MonthStatistics[], title: string): string {
  const height = TOP + 2 * PANEL + GAP + 40;
  const body = [
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escape(title)}</text>`,
    ...panel('Warrants per month', months, [
      { label: 'warrants issued', color: '#1f5fa8', value: (m) => m.warrantsIssued },
      { label: 'warrants modified', color: '#8fb3dc', value: (m) => m.warrantsModified },
    ], TOP + 20),
    ...panel('Messages decrypted per month', months, [{ label: 'messages decrypted', color: '#b5462b', value: (m) => m.messagesDecrypted }], TOP + 20 + PANEL + GAP),
  ];
  if (months.length === 0) body.push(`<text x="${WIDTH / 2}" y="${height / 2}" text-anchor="middle">no warrants or decryptions in the log</text>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height + 20}" viewBox="0 0 ${WIDTH} ${height + 20}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
