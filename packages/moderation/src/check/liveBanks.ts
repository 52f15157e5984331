/**
 * The banks as the upload check sees them, kept current while the server runs: every bank's hashes in a
 * matcher (in process, or a remote matcher behind SignalMatcher), every text rule compiled, and every
 * bank's settings. `refresh()` picks up signals added since the last look (a CLI import, the hub's sync)
 * by id, and signals revived since (re-added after removal: same id, so from the revivals log of
 * migration 0800); removals and edits need no refresh, because every candidate match is confirmed
 * against the store's current row before it counts.
 */
import type { Db } from '@doublelock/store';
import { BankStore, type BankSignal } from '../bank.ts';
import { Matcher, type QuerySignals, type SignalMatch } from '../matcher.ts';
import { TextRules, type TextMatch } from '../text/rules.ts';
import { BankSettingsStore, type BankSettings } from './bankSettings.ts';
import type { SignalMatcher } from './signalMatcher.ts';

/** Ids committed out of order (PostgreSQL sequences) are caught by re-reading this many ids back. */
const LOOKBACK = 10_000;
/** The same for the revivals log: each entry re-read costs a held-already check, and revivals are rare. */
const REVIVALS_LOOKBACK = 1000;

export interface LiveBanksOptions {
  /** a matcher in another process; without one, hashes are matched in this process */
  matcher?: SignalMatcher;
  onProgress?: (loaded: number) => void;
  /** keep the built PDQ index in this file and reopen it while current (Matcher.load) */
  indexFile?: string;
}

export interface ConfirmedTextMatch extends TextMatch {
  signal: BankSignal;
}

export class LiveBanks {
  readonly store: BankStore;
  readonly settingsStore: BankSettingsStore;
  settings = new Map<string, BankSettings>();
  readonly text = new TextRules();
  private local: Matcher | undefined;
  private remote: SignalMatcher | undefined;
  private low = 0;
  private high = 0;
  private readonly recent = new Set<number>();
  // the same for the revivals log: every entry at or below revivalsLow handled, and these above it
  private revivalsLow = 0;
  private readonly recentRevivals = new Set<number>();
  private refreshing: Promise<number> | undefined;
  private timer: NodeJS.Timeout | undefined;

  private constructor(readonly db: Db) {
    this.store = new BankStore(db);
    this.settingsStore = new BankSettingsStore(db);
  }

  static async open(db: Db, options: LiveBanksOptions = {}): Promise<LiveBanks> {
    const live = new LiveBanks(db);
    live.settings = await live.settingsStore.all();
    const max = Number((await db.get<{ m: number | null }>('SELECT MAX(id) AS m FROM moderation_signals'))?.m ?? 0);
    // Everything at or below `low` is loaded. Above it, exactly the ids the load handed out are remembered:
    // a signal committed during the load (above `max`, or a late commit below it) is loaded once, either
    // by the load or by the next refresh, never by both.
    live.low = Math.max(0, max - LOOKBACK);
    live.high = max;
    // revivals before the load are in what it reads; those since (or committed late) are followed from here
    const revived = Number((await db.get<{ m: number | null }>('SELECT MAX(seq) AS m FROM moderation_signal_revivals'))?.m ?? 0);
    live.revivalsLow = Math.max(0, revived - REVIVALS_LOOKBACK);
    const loading = new RecordingBankStore(db, live.low);
    if (options.matcher) live.remote = options.matcher;
    else live.local = await Matcher.load(loading, [...live.settings.keys()], options.onProgress, await live.settingsStore.maxPdqThreshold(), options.indexFile ? { indexFile: options.indexFile } : {});
    for (const bank of live.settings.keys()) for await (const s of loading.signals(bank, { types: ['text'] })) live.text.add(textRule(s));
    for (const id of loading.stop()) live.recent.add(id);
    return live;
  }

  get matcher(): SignalMatcher {
    return (this.remote ?? this.local)!;
  }

  /** Signals in the in-process matcher (0 with a remote one). */
  get localSize(): number {
    return this.local?.size ?? 0;
  }

  /** The widest PDQ distance the in-process matcher searches. */
  get pdqThreshold(): number {
    return this.local?.pdqThreshold ?? 0;
  }

  /** The highest signal id seen so far (everything at or below it that was committed is loaded). */
  get seenUpTo(): number {
    return this.high;
  }

  /** Loads signals added since the last look and re-reads settings; returns how many signals were new. */
  refresh(): Promise<number> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async doRefresh(): Promise<number> {
    this.settings = await this.settingsStore.all();
    // A bank now asks for a wider radius than the matcher searches (a crisis incident's bank): rebuild it.
    const radius = await this.settingsStore.maxPdqThreshold();
    if (this.local && radius > this.local.pdqThreshold) {
      // a signal the rebuild loads and that is not yet remembered must not be added again below
      const loading = new RecordingBankStore(this.db, this.low);
      this.local = await Matcher.load(loading, [...this.settings.keys()], undefined, radius);
      for (const id of loading.stop()) this.recent.add(id);
    }
    let added = 0;
    let after = this.low;
    let max = this.low;
    for (;;) {
      const page = await this.db.all<{ id: number }>('SELECT id FROM moderation_signals WHERE id > ? ORDER BY id LIMIT 5000', [after]);
      if (!page.length) break;
      const fresh = page.map((r) => Number(r.id)).filter((id) => !this.recent.has(id));
      for (const s of await this.store.getSignalsByIds(fresh)) {
        this.recent.add(s.id);
        if (s.removedAt !== null) continue;
        if (s.type === 'text') this.text.add(textRule(s));
        else this.local?.add(s);
        added++;
      }
      after = Number(page[page.length - 1]!.id);
      max = Math.max(max, after);
      if (page.length < 5000) break;
    }
    this.high = Math.max(this.high, max);
    added += await this.followRevivals();
    // a matcher in another process follows the store itself; ask it to look now (new signals are swept next)
    if (this.remote?.refresh) await this.remote.refresh();
    const low = Math.max(this.low, max - LOOKBACK);
    if (low > this.low) {
      for (const id of this.recent) if (id <= low) this.recent.delete(id);
      this.low = low;
    }
    return added;
  }

  /**
   * Signals revived since the last look. A revival keeps the signal's id, so the scan by id never sees
   * one whose id it has passed: one removed before the load, or seen removed by a refresh. Each is added
   * unless held already (removed after the load, it never left the matcher). An id the scan has not
   * reached yet is left to the scan, which reads its row as it is then.
   */
  private async followRevivals(): Promise<number> {
    let added = 0;
    let after = this.revivalsLow;
    for (;;) {
      const page = await this.db.all<{ seq: number; signal_id: number }>('SELECT seq, signal_id FROM moderation_signal_revivals WHERE seq > ? ORDER BY seq LIMIT 5000', [after]);
      if (!page.length) break;
      const ids = new Set<number>();
      for (const r of page) {
        const seq = Number(r.seq);
        const id = Number(r.signal_id);
        if (this.recentRevivals.has(seq)) continue;
        this.recentRevivals.add(seq);
        if (id <= this.low || this.recent.has(id)) ids.add(id);
      }
      for (const s of await this.store.getSignalsByIds([...ids])) {
        if (s.removedAt !== null) continue; // removed again since
        if (s.type === 'text') {
          const before = this.text.size;
          this.text.add(textRule(s));
          if (this.text.size > before) added++;
        } else if (this.local?.addOnce(s)) added++;
      }
      after = Number(page[page.length - 1]!.seq);
      if (page.length < 5000) break;
    }
    const low = Math.max(this.revivalsLow, after - REVIVALS_LOOKBACK);
    if (low > this.revivalsLow) {
      for (const seq of this.recentRevivals) if (seq <= low) this.recentRevivals.delete(seq);
      this.revivalsLow = low;
    }
    return added;
  }

  /** Refreshes every `ms` until stop(). */
  start(ms: number, onError: (error: unknown) => void): void {
    this.stop();
    this.timer = setInterval(() => this.refresh().catch(onError), ms);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  matchHashes(query: QuerySignals): Promise<SignalMatch[]> {
    return this.matcher.match(query);
  }

  /** Text rule matches, each confirmed against its signal's current row (removed rules drop out). */
  async matchText(text: string): Promise<ConfirmedTextMatch[]> {
    const found = this.text.match(text);
    if (!found.length) return [];
    const rows = new Map((await this.store.getSignalsByIds([...new Set(found.map((m) => m.rule.id))])).map((s) => [s.id, s]));
    const out: ConfirmedTextMatch[] = [];
    for (const m of found) {
      const signal = rows.get(m.rule.id);
      if (!signal || signal.removedAt !== null) continue;
      if (signal.value !== m.rule.value) continue; // edited since it was compiled: the next refresh brings it back
      out.push({ ...m, signal });
    }
    return out;
  }
}

export function textRule(s: BankSignal) {
  return { id: s.id, bank: s.bank, value: s.value, action: s.action ?? 'block', severity: s.severity, labels: s.labels };
}

/**
 * The bank store a load reads through: it notes the ids above `above` that its bulk readers hand out
 * (what the matcher and the rules now hold), until stop(). Other reads pass through untouched.
 */
class RecordingBankStore extends BankStore {
  #seen: Set<number> | undefined = new Set();

  constructor(
    db: Db,
    private readonly above: number,
  ) {
    super(db);
  }

  /** The ids handed out; nothing is noted after this. */
  stop(): Set<number> {
    const seen = this.#seen ?? new Set<number>();
    this.#seen = undefined;
    return seen;
  }

  override async *pdqHashPages(bank: string, pageSize?: number, after?: number, upto?: number): AsyncGenerator<{ words: Uint32Array; ids: Uint32Array }> {
    for await (const page of super.pdqHashPages(bank, pageSize, after, upto)) {
      if (this.#seen) for (const id of page.ids) if (id > this.above) this.#seen.add(id);
      yield page;
    }
  }

  override async *signals(bank: string, options?: Parameters<BankStore['signals']>[1]): AsyncGenerator<BankSignal> {
    for await (const s of super.signals(bank, options)) {
      if (this.#seen && s.id > this.above) this.#seen.add(s.id);
      yield s;
    }
  }
}
