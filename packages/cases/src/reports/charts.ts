/**
 * The report as a picture (SVG 1.1, hand-written like the oversight chart: no dependency, text escaped,
 * deterministic): how fast cases were decided by where they came from (the NetzDG buckets, stacked),
 * what was done, and which categories notices were about.
 */
import { STATEMENT_CATEGORY } from '@doublelock/protocol/dsa';
import type { Buckets, TransparencyReport } from './compute.ts';

const WIDTH = 760;
const LEFT = 230;
const RIGHT = 24;
const BAR = 18;
const GAP = 8;
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const BUCKETS: Array<{ key: keyof Omit<Buckets, 'total'>; label: string; color: string }> = [
  { key: 'within24h', label: '≤ 24 h', color: '#2e7d32' },
  { key: 'within48h', label: '≤ 48 h', color: '#9ccc65' },
  { key: 'withinWeek', label: '≤ 7 days', color: '#fbc02d' },
  { key: 'later', label: 'later', color: '#e53935' },
  { key: 'pending', label: 'not decided', color: '#9e9e9e' },
];

const SOURCE_NAMES: Record<string, string> = {
  notice: 'Notices (Art. 16)',
  trusted_flagger: 'Trusted flaggers',
  removal_order: 'Removal orders (TCO)',
  franked_report: 'Reports from chats',
  upload_hold: 'Held at upload',
  sweep_hold: 'Held by retro-sweep',
  crisis_hold: 'Held in a crisis',
};

function stacked(title: string, rows: Array<{ label: string; buckets: Buckets }>, top: number): { svg: string[]; height: number } {
  const out = [`<text x="16" y="${top}" font-weight="bold">${escape(title)}</text>`];
  const plot = WIDTH - LEFT - RIGHT;
  BUCKETS.forEach((b, i) => {
    const x = LEFT + i * 100;
    out.push(`<rect x="${x}" y="${top + 8}" width="10" height="10" fill="${b.color}"/><text x="${x + 14}" y="${top + 17}">${escape(b.label)}</text>`);
  });
  let y = top + 28;
  for (const row of rows) {
    out.push(`<text x="${LEFT - 8}" y="${y + 13}" text-anchor="end">${escape(row.label)} (${row.buckets.total})</text>`);
    let x = LEFT;
    for (const b of BUCKETS) {
      const v = row.buckets[b.key];
      if (!v || !row.buckets.total) continue;
      const w = (v / row.buckets.total) * plot;
      out.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${BAR}" fill="${b.color}"><title>${escape(`${row.label}: ${v} ${b.label}`)}</title></rect>`);
      x += w;
    }
    y += BAR + GAP;
  }
  return { svg: out, height: y - top };
}

function bars(title: string, rows: Array<{ label: string; value: number }>, top: number, color: string): { svg: string[]; height: number } {
  const out = [`<text x="16" y="${top}" font-weight="bold">${escape(title)}</text>`];
  const max = Math.max(1, ...rows.map((r) => r.value));
  const plot = WIDTH - LEFT - RIGHT - 60;
  let y = top + 12;
  for (const r of rows) {
    const w = (r.value / max) * plot;
    out.push(`<text x="${LEFT - 8}" y="${y + 13}" text-anchor="end">${escape(r.label)}</text>`);
    out.push(`<rect x="${LEFT}" y="${y}" width="${w.toFixed(1)}" height="${BAR}" fill="${color}"/><text x="${(LEFT + w + 6).toFixed(1)}" y="${y + 13}">${r.value}</text>`);
    y += BAR + GAP;
  }
  if (!rows.length) {
    out.push(`<text x="${LEFT}" y="${y + 13}" fill="#666">none in this period</text>`);
    y += BAR + GAP;
  }
  return { svg: out, height: y - top };
}

export function reportChart(report: TransparencyReport): string {
  const parts: string[] = [];
  let top = 56;
  const speed = stacked(
    'Time from receipt to decision',
    Object.entries(report.netzdg.bySource)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([source, buckets]) => ({ label: SOURCE_NAMES[source] ?? source, buckets })),
    top,
  );
  parts.push(...speed.svg);
  top += speed.height + 36;
  const own = [...report.dsa.ownInitiativeIllegal, ...report.dsa.ownInitiativeTerms];
  const sum = (f: (r: (typeof own)[number]) => number) => own.reduce((a, r) => a + f(r), 0);
  const notices = report.dsa.notices;
  const actions = bars(
    'Restrictions (own initiative) and actions on notices',
    [
      { label: 'Removed', value: sum((r) => r.removal) },
      { label: 'Disabled in territories', value: sum((r) => r.disable) },
      { label: 'Demoted', value: sum((r) => r.demoted) },
      { label: 'Age-restricted', value: sum((r) => r.ageRestricted) },
      { label: 'Labelled', value: sum((r) => r.labelled) },
      { label: 'Demonetised', value: sum((r) => r.monetaryTermination) },
      { label: 'Accounts suspended', value: sum((r) => r.accountSuspension) },
      { label: 'Accounts terminated', value: sum((r) => r.accountTermination) },
      { label: 'Notices acted on (law)', value: notices.reduce((a, r) => a + r.actionsLaw, 0) },
      { label: 'Notices acted on (terms)', value: notices.reduce((a, r) => a + r.actionsTerms, 0) },
    ],
    top,
    '#1565c0',
  );
  parts.push(...actions.svg);
  top += actions.height + 36;
  const categories = bars(
    'Notices received by category',
    notices.map((r) => ({ label: STATEMENT_CATEGORY[r.category].slice(0, 34), value: r.received })),
    top,
    '#6a1b9a',
  );
  parts.push(...categories.svg);
  top += categories.height + 16;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${top}" viewBox="0 0 ${WIDTH} ${top}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="16" y="26" font-size="16" font-weight="bold">${escape(`Transparency report ${report.period.from} – ${report.period.to}`)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
