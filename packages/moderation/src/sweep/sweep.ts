/**
 * The retro-sweep: when a bank gains signals (an import, the hub's sync), content already published is
 * checked against the new signals and the matches are acted on by the same policy as the upload check.
 *
 * A sweep is a row (moderation_sweeps) with the bank and its new signals (an id range or a list). It
 * runs by phase — PDQ, exact hashes, URLs, text, vPDQ, then acting — in pages over the content signals
 * kept at upload (moderation_content_signals), saves its cursor and what it found after every page, and
 * resumes from there after a restart. For PDQ the stored content hashes (every dihedral variant of every
 * image) are bulk-loaded into a PdqIndex chunk by chunk and the new bank hashes are queried against it:
 * the new signals are usually far fewer than the stored hashes, so queries are few.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Db } from '@doublelock/store';
import { BankStore, decimalListToIds, packedHexToWords, type BankSignal } from '../bank.ts';
import { BankSettingsStore, type BankSettings } from '../check/bankSettings.ts';
import type { ContentAction, ContentActioner, Subject } from '../check/actioner.ts';
import { ContentSignalStore, type StoredContentSignal } from '../check/contentSignals.ts';
import type { Decision } from '../check/decision.ts';
import { DecisionStore } from '../check/decisionStore.ts';
import { decide, type FoundMatch, type ItemMatches } from '../check/policy.ts';
import { textRule } from '../check/liveBanks.ts';
import { PDQ_QUALITY_THRESHOLD, type Dihedral } from '../pdq.ts';
import { PdqIndex } from '../pdqIndex.ts';
import { TextRules } from '../text/rules.ts';
import { UrlMatcher } from '../url.ts';
import { dedupeFeatures, matchVpdq, parseVpdqSignal, type VpdqFeature } from '../vpdqFormat.ts';

export const SWEEP_PHASES = ['pdq', 'exact', 'url', 'text', 'vpdq', 'act', 'done'] as const;
export type SweepPhase = (typeof SWEEP_PHASES)[number];
export type SweepStatus = 'queued' | 'running' | 'done' | 'failed';

export interface SweepTarget {
  bank: string;
  /** the new signals: ids in (afterSignalId, uptoSignalId] of the bank … */
  afterSignalId?: number;
  uptoSignalId?: number;
  /** … or exactly these (the hub's sync knows which signals it wrote) */
  signalIds?: number[];
}

export interface Sweep {
  id: number;
  bank: string;
  afterSignalId: number;
  uptoSignalId: number;
  signalIds: number[] | null;
  status: SweepStatus;
  phase: SweepPhase;
  cursor: number;
  /** content signals compared so far, of `total` */
  checked: number;
  total: number;
  /** subjects found matching, and acted on (decision other than publish) */
  matched: number;
  actioned: number;
  error: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

export interface SweepFinding {
  subject: Subject;
  verdict: string;
  decisionId: number | null;
  matches: FoundMatch[];
  foundAt: number;
}

export interface SweepReport extends Sweep {
  findings: SweepFinding[];
  byVerdict: Record<string, number>;
}

interface SweepRow {
  id: number;
  bank: string;
  after_signal_id: number;
  upto_signal_id: number;
  signal_ids: string | null;
  status: string;
  phase: string;
  cursor: number;
  checked: number;
  matched: number;
  actioned: number;
  total: number;
  error: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

const fromRow = (r: SweepRow): Sweep => ({
  id: Number(r.id),
  bank: r.bank,
  afterSignalId: Number(r.after_signal_id),
  uptoSignalId: Number(r.upto_signal_id),
  signalIds: r.signal_ids ? (JSON.parse(r.signal_ids) as number[]) : null,
  status: r.status as SweepStatus,
  phase: r.phase as SweepPhase,
  cursor: Number(r.cursor),
  checked: Number(r.checked),
  total: Number(r.total),
  matched: Number(r.matched),
  actioned: Number(r.actioned),
  error: r.error,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  finishedAt: r.finished_at === null ? null : Number(r.finished_at),
});

/** A running sweep whose row has not moved for this long belongs to a dead process: it may be resumed. */
const LEASE_MS = 5 * 60 * 1000;

export class SweepStore {
  constructor(private readonly db: Db) {}

  /** Queues a sweep of a bank's new signals. */
  async create(target: SweepTarget, now = Date.now()): Promise<Sweep> {
    if (!(await new BankStore(this.db).getBank(target.bank))) throw new TypeError(`no bank named "${target.bank}"`);
    const ids = target.signalIds?.filter((id) => Number.isSafeInteger(id) && id > 0);
    if (!ids && (target.afterSignalId === undefined || target.uptoSignalId === undefined)) throw new TypeError('a sweep needs signalIds, or afterSignalId and uptoSignalId');
    const row = await this.db.get<{ id: number }>(
      `INSERT INTO moderation_sweeps (bank, after_signal_id, upto_signal_id, signal_ids, status, phase, cursor, checked, matched, actioned, total, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'queued', 'pdq', 0, 0, 0, 0, 0, ?, ?) RETURNING id`,
      [target.bank, target.afterSignalId ?? 0, target.uptoSignalId ?? 0, ids ? JSON.stringify(ids) : null, now, now],
    );
    return (await this.get(Number(row!.id)))!;
  }

  async get(id: number): Promise<Sweep | undefined> {
    const row = await this.db.get<SweepRow>('SELECT * FROM moderation_sweeps WHERE id = ?', [id]);
    return row && fromRow(row);
  }

  async list(limit = 50): Promise<Sweep[]> {
    return (await this.db.all<SweepRow>('SELECT * FROM moderation_sweeps ORDER BY id DESC LIMIT ?', [limit])).map(fromRow);
  }

  /** Claims the oldest queued sweep, or a running one whose process stopped moving it. */
  async claim(now = Date.now()): Promise<Sweep | undefined> {
    return this.db.transaction(async (tx) => {
      const row = await tx.get<SweepRow>("SELECT * FROM moderation_sweeps WHERE status = 'queued' OR (status = 'running' AND updated_at < ?) ORDER BY id LIMIT 1", [now - LEASE_MS]);
      if (!row) return undefined;
      await tx.run("UPDATE moderation_sweeps SET status = 'running', updated_at = ? WHERE id = ?", [now, row.id]);
      return fromRow({ ...row, status: 'running', updated_at: now });
    });
  }

  async save(s: Sweep): Promise<void> {
    await this.db.run(
      'UPDATE moderation_sweeps SET status = ?, phase = ?, cursor = ?, checked = ?, matched = ?, actioned = ?, total = ?, error = ?, updated_at = ?, finished_at = ? WHERE id = ?',
      [s.status, s.phase, s.cursor, s.checked, s.matched, s.actioned, s.total, s.error, s.updatedAt, s.finishedAt, s.id],
    );
  }

  /** Adds what a page found, merged with what earlier phases found for the same subjects. */
  async addFindings(sweepId: number, found: ReadonlyMap<Subject, FoundMatch[]>, now: number): Promise<number> {
    let added = 0;
    await this.db.transaction(async (tx) => {
      for (const [subject, matches] of found) {
        const old = await tx.get<{ matches: string }>('SELECT matches FROM moderation_sweep_findings WHERE sweep_id = ? AND subject = ?', [sweepId, subject]);
        if (old) {
          const merged = [...(JSON.parse(old.matches) as FoundMatch[]), ...matches];
          const unique = [...new Map(merged.map((m) => [`${m.item}:${m.signalId}`, m])).values()];
          await tx.run('UPDATE moderation_sweep_findings SET matches = ? WHERE sweep_id = ? AND subject = ?', [JSON.stringify(unique), sweepId, subject]);
        } else {
          await tx.run("INSERT INTO moderation_sweep_findings (sweep_id, subject, verdict, decision_id, matches, found_at) VALUES (?, ?, 'found', NULL, ?, ?)", [sweepId, subject, JSON.stringify(matches), now]);
          added++;
        }
      }
    });
    return added;
  }

  async findings(sweepId: number, options: { undecidedOnly?: boolean; limit?: number; afterSubject?: string } = {}): Promise<SweepFinding[]> {
    const rows = await this.db.all<{ subject: string; verdict: string; decision_id: number | null; matches: string; found_at: number }>(
      `SELECT subject, verdict, decision_id, matches, found_at FROM moderation_sweep_findings WHERE sweep_id = ? AND subject > ?${options.undecidedOnly ? " AND verdict = 'found'" : ''} ORDER BY subject LIMIT ?`,
      [sweepId, options.afterSubject ?? '', options.limit ?? 1_000_000],
    );
    return rows.map((r) => ({ subject: r.subject, verdict: r.verdict, decisionId: r.decision_id === null ? null : Number(r.decision_id), matches: JSON.parse(r.matches) as FoundMatch[], foundAt: Number(r.found_at) }));
  }

  async decided(sweepId: number, subject: Subject, verdict: string, decisionId: number | null): Promise<void> {
    await this.db.run('UPDATE moderation_sweep_findings SET verdict = ?, decision_id = ? WHERE sweep_id = ? AND subject = ?', [verdict, decisionId, sweepId, subject]);
  }

  /** The sweep with everything it found and what was decided. */
  async report(sweepId: number): Promise<SweepReport | undefined> {
    const sweep = await this.get(sweepId);
    if (!sweep) return undefined;
    const findings = await this.findings(sweepId);
    const byVerdict: Record<string, number> = {};
    for (const f of findings) byVerdict[f.verdict] = (byVerdict[f.verdict] ?? 0) + 1;
    return { ...sweep, findings, byVerdict };
  }
}

export interface SweepProgress {
  sweep: Sweep;
}

export interface RunSweepOptions {
  db: Db;
  sweepId: number;
  actioner: ContentActioner;
  onProgress?: (sweep: Sweep) => void;
  now?: () => number;
  /** content PDQ hashes per in-memory index chunk (default 8M: about 1 GB) */
  pdqChunk?: number;
  pageSize?: number;
  /** stop after this many pages (tests of resuming); the sweep stays `running`, as after a crash */
  stopAfterPages?: number;
  /** checked after every page: a process shutting down leaves the sweep `queued` to resume at once */
  stopping?: () => boolean;
}

/** What a sweep verdict does to content that was already visible. */
export function sweepAction(decision: Decision): ContentAction | undefined {
  switch (decision.verdict) {
    case 'block':
      return { type: 'remove' };
    case 'hold':
      return { type: 'hold' };
    case 'label':
      return { type: 'label', labels: decision.labels };
    default:
      return undefined;
  }
}

class Stop extends Error {}

/** Runs (or resumes) a sweep to the end. Returns its report. */
export async function runSweep(options: RunSweepOptions): Promise<SweepReport> {
  const { db } = options;
  const now = options.now ?? Date.now;
  const store = new SweepStore(db);
  const content = new ContentSignalStore(db);
  const banks = new BankStore(db);
  let sweep = await store.get(options.sweepId);
  if (!sweep) throw new TypeError(`no sweep ${options.sweepId}`);
  if (sweep.status === 'done') return (await store.report(sweep.id))!;
  const settings = await new BankSettingsStore(db).all();
  const bankSettings = settings.get(sweep.bank);
  const signals = await newSignals(banks, sweep);
  const byType = (t: BankSignal['type']) => signals.filter((s) => s.type === t);
  const pageSize = options.pageSize ?? 10_000;
  let pages = 0;

  sweep = { ...sweep, status: 'running', updatedAt: now() };
  if (sweep.total === 0) {
    sweep.total = (await content.count('pdq')) * (byType('pdq').length ? 1 : 0) + (byType('url').length ? await content.count('url') : 0) + (byType('text').length ? await content.count('text') : 0) + (byType('vpdq').length ? await content.count('vpdq') : 0) + byType('md5').length + byType('sha256').length;
  }
  const step = async (found: Map<Subject, FoundMatch[]>, cursor: number, checked: number) => {
    sweep!.matched += await store.addFindings(sweep!.id, found, now());
    sweep!.cursor = cursor;
    sweep!.checked += checked;
    sweep!.updatedAt = now();
    await store.save(sweep!);
    options.onProgress?.(sweep!);
    if (options.stopAfterPages !== undefined && ++pages >= options.stopAfterPages) throw new Stop();
    if (options.stopping?.()) {
      sweep!.status = 'queued';
      await store.save(sweep!);
      throw new Stop();
    }
  };
  const advance = async (phase: SweepPhase) => {
    sweep = { ...sweep!, phase, cursor: 0, updatedAt: now() };
    await store.save(sweep);
  };

  try {
    await store.save(sweep);
    if (sweep.phase === 'pdq') {
      await sweepPdq(content, byType('pdq'), bankSettings?.pdqThreshold ?? 31, sweep.cursor, options.pdqChunk ?? 8_000_000, step);
      await advance('exact');
    }
    if (sweep.phase === 'exact') {
      const exact = [...byType('md5'), ...byType('sha256')];
      for (let i = sweep.cursor; i < exact.length; i += pageSize) {
        const page = exact.slice(i, i + pageSize);
        const found = new Map<Subject, FoundMatch[]>();
        for (const type of ['md5', 'sha256'] as const) {
          const wanted = new Map(page.filter((s) => s.type === type).map((s) => [s.value, s]));
          for (const c of await content.withValues(type, [...wanted.keys()])) add(found, c, wanted.get(c.value)!, {});
        }
        await step(found, i + page.length, page.length);
      }
      await advance('url');
    }
    if (sweep.phase === 'url') {
      const rules = new UrlMatcher<BankSignal>();
      for (const s of byType('url')) rules.add(s.value, s);
      if (rules.size) await pages_(content, 'url', sweep.cursor, pageSize, step, (c, found) => {
        for (const m of rules.match(c.value)) add(found, c, m.data, {});
      });
      await advance('text');
    }
    if (sweep.phase === 'text') {
      const rules = new TextRules();
      for (const s of byType('text')) rules.add(textRule(s));
      // every bank's allow-list still applies to the new rules
      if (rules.size) {
        for (const bank of settings.keys()) for await (const s of banks.signals(bank, { types: ['text'] })) if (s.action === 'allow') rules.add(textRule(s));
        const bySignal = new Map(byType('text').map((s) => [s.id, s]));
        await pages_(content, 'text', sweep.cursor, pageSize, step, (c, found) => {
          for (const m of rules.match(c.value)) {
            const s = bySignal.get(m.rule.id);
            if (s && !m.allowed) add(found, c, s, { span: { start: m.start, end: m.end, text: m.text } });
          }
        });
      }
      await advance('vpdq');
    }
    if (sweep.phase === 'vpdq') {
      const videos = byType('vpdq').map((s) => ({ s, features: dedupeFeatures(parseVpdqSignal(s.value)) }));
      if (videos.length) {
        const frames = new PdqIndex();
        videos.forEach((v, i) => v.features.forEach((f) => f.quality >= PDQ_QUALITY_THRESHOLD && frames.add(f.hash, i)));
        await pages_(content, 'vpdq', sweep.cursor, Math.min(pageSize, 500), step, (c, found) => {
          const query: VpdqFeature[] = parseVpdqSignal(c.value);
          const candidates = new Set<number>();
          for (const f of dedupeFeatures(query)) if (f.quality >= PDQ_QUALITY_THRESHOLD) for (const m of frames.query(f.hash)) candidates.add(m.key);
          for (const i of candidates) {
            const r = matchVpdq(query, videos[i]!.features);
            if (r.match) add(found, c, videos[i]!.s, { vpdq: { queryMatchPercent: r.queryMatchPercent, targetMatchPercent: r.targetMatchPercent } });
          }
        });
      }
      await advance('act');
    }
    if (sweep.phase === 'act') {
      await act(db, store, content, sweep, settings, options.actioner, now, async () => {
        sweep!.updatedAt = now();
        await store.save(sweep!);
        options.onProgress?.(sweep!);
      });
      sweep = { ...sweep, phase: 'done', status: 'done', finishedAt: now(), updatedAt: now() };
      await store.save(sweep);
      options.onProgress?.(sweep);
    }
  } catch (error) {
    if (error instanceof Stop) return (await store.report(sweep.id))!;
    sweep = { ...sweep, status: 'failed', error: error instanceof Error ? error.message : String(error), updatedAt: now() };
    await store.save(sweep);
    throw error;
  }
  return (await store.report(sweep.id))!;
}

async function newSignals(banks: BankStore, sweep: Sweep): Promise<BankSignal[]> {
  if (sweep.signalIds) return (await banks.getSignalsByIds(sweep.signalIds)).filter((s) => s.bank === sweep.bank && s.removedAt === null);
  return banks.signalsBetween(sweep.bank, sweep.afterSignalId, sweep.uptoSignalId);
}

function add(found: Map<Subject, FoundMatch[]>, c: StoredContentSignal, s: BankSignal, extra: Partial<FoundMatch>): void {
  const list = found.get(c.subject) ?? [];
  if (list.some((m) => m.item === c.item && m.signalId === s.id)) return;
  list.push({
    item: c.item,
    bank: s.bank,
    signalId: s.id,
    signalType: s.type,
    labels: s.labels,
    signalAction: s.action,
    severity: s.severity,
    ...(c.variant && c.type === 'pdq' && { variant: c.variant as Dihedral }),
    ...(c.type === 'pdq' && c.quality !== null && c.quality !== undefined && c.quality < PDQ_QUALITY_THRESHOLD && { needsReview: 'low_quality' as const }),
    ...extra,
  });
  found.set(c.subject, list);
}

/** Pages through one type of content signals from a cursor. */
async function pages_(
  content: ContentSignalStore,
  type: 'url' | 'text' | 'vpdq',
  cursor: number,
  pageSize: number,
  step: (found: Map<Subject, FoundMatch[]>, cursor: number, checked: number) => Promise<void>,
  each: (c: StoredContentSignal, found: Map<Subject, FoundMatch[]>) => void,
): Promise<void> {
  for (let after = cursor; ; ) {
    const page = await content.page(type, after, pageSize);
    if (!page.length) return;
    const found = new Map<Subject, FoundMatch[]>();
    for (const c of page) each(c, found);
    after = page[page.length - 1]!.id;
    await step(found, after, page.length);
    if (page.length < pageSize) return;
  }
}

/** Stored content hashes in index chunks; the bank's new hashes queried against each. */
async function sweepPdq(
  content: ContentSignalStore,
  signals: BankSignal[],
  threshold: number,
  cursor: number,
  chunk: number,
  step: (found: Map<Subject, FoundMatch[]>, cursor: number, checked: number) => Promise<void>,
): Promise<void> {
  if (!signals.length) return;
  let pending: Array<{ words: Uint32Array; ids: Uint32Array; last: number }> = [];
  let held = 0;
  const flush = async () => {
    if (!held) return;
    const words = new Uint32Array(held * 8);
    const ids = new Uint32Array(held);
    let at = 0;
    for (const p of pending) {
      words.set(p.words, at * 8);
      ids.set(p.ids, at);
      at += p.ids.length;
    }
    const last = pending[pending.length - 1]!.last;
    pending = [];
    const index = PdqIndex.fromPacked(words, ids, { maxDistance: Math.max(31, threshold) });
    const hits = new Map<number, Array<{ signal: BankSignal; distance: number }>>();
    for (const s of signals) {
      for (const m of index.query(s.value, threshold)) {
        const list = hits.get(m.key) ?? [];
        list.push({ signal: s, distance: m.distance });
        hits.set(m.key, list);
      }
    }
    const found = new Map<Subject, FoundMatch[]>();
    const rows = await content.byIds([...hits.keys()]);
    // the closest variant per (item, signal)
    for (const c of rows.sort((a, b) => a.id - b.id)) {
      for (const h of hits.get(c.id)!) {
        const list = found.get(c.subject) ?? [];
        const seen = list.find((m) => m.item === c.item && m.signalId === h.signal.id);
        if (seen && (seen.distance ?? 99) <= h.distance) continue;
        if (seen) list.splice(list.indexOf(seen), 1);
        found.set(c.subject, list);
        add(found, c, h.signal, { distance: h.distance });
      }
    }
    const checked = held;
    held = 0;
    await step(found, last, checked);
  };
  for await (const page of content.pdqPages(cursor)) {
    pending.push({ words: packedHexToWords(page.hex, page.n), ids: decimalListToIds(page.ids, page.n), last: page.last });
    held += page.n;
    if (held >= chunk) await flush();
  }
  await flush();
}

const textKey = (text: string) => bytesToHex(sha256(new TextEncoder().encode(text)));

/** Decides every finding by policy; acts on each subject whose verdict restricts it. */
async function act(
  db: Db,
  store: SweepStore,
  content: ContentSignalStore,
  sweep: Sweep,
  settings: Map<string, BankSettings>,
  actioner: ContentActioner,
  now: () => number,
  progress: () => Promise<void>,
): Promise<void> {
  const decisions = new DecisionStore(db);
  for (;;) {
    const batch = await store.findings(sweep.id, { undecidedOnly: true, limit: 200 });
    if (!batch.length) return;
    for (const f of batch) {
      const stored = await content.forSubject(f.subject);
      const key = (item: string) => {
        const sha = stored.find((c) => c.item === item && c.type === 'sha256');
        const text = stored.find((c) => c.item === item && c.type === 'text');
        const url = stored.find((c) => c.item === item && c.type === 'url');
        return sha?.value ?? (text ? textKey(text.value) : url?.value ?? `${f.subject}:${item}`);
      };
      const items: ItemMatches[] = [...new Set(f.matches.map((m) => m.item))].map((item) => ({ item, key: key(item), matches: f.matches.filter((m) => m.item === item) }));
      const result = decide(items, settings);
      if (result.verdict === 'publish') {
        await store.decided(sweep.id, f.subject, 'publish', null);
        continue;
      }
      const info = await actioner.describe(f.subject);
      if (!info) {
        await store.decided(sweep.id, f.subject, 'gone', null);
        continue;
      }
      const decision = await decisions.add({
        subject: f.subject,
        uploader: info.uploader,
        stage: 'retro_sweep',
        verdict: result.verdict,
        reasons: result.reasons,
        matches: result.matches,
        labels: result.labels,
        contentTypes: info.contentTypes,
        automatedDetection: true,
        automatedDecision: result.verdict !== 'hold',
        contentCreatedAt: info.createdAt,
        createdAt: now(),
        sweepId: sweep.id,
      });
      const action = sweepAction(decision)!;
      const outcome = await actioner.apply(f.subject, action, { decisionId: decision.id, actor: 'retro_sweep', reason: decision.reasons.map((r) => r.label).join(', ') });
      if (action.type === 'remove') await content.forget(f.subject);
      await store.decided(sweep.id, f.subject, outcome.applied ? decision.verdict : 'gone', decision.id);
      if (outcome.applied) sweep.actioned++;
    }
    await progress();
  }
}
