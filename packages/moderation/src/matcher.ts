/**
 * The matcher role of Hasher-Matcher-Actioner: signals in, matches against banks out. It knows banks and
 * signals, never content, channels or users; what to do with a match is policy's business, except for
 * one rule carried on every match because it comes with PDQ itself: a hash with quality below 50 is too
 * featureless to act on automatically (`autoAction: false, reason: 'low_quality'`).
 *
 * In memory: a PdqIndex keyed by signal id, maps for exact hashes, a UrlMatcher, and vPDQ videos with a
 * PdqIndex over all their frames to find candidate videos. Signal metadata stays in the store and is read
 * only for the matches.
 */
import type { BankSignal, BankStore } from './bank.ts';
import type { ContentSignals } from './hasher.ts';
import { PDQ_MATCH_THRESHOLD, PDQ_QUALITY_THRESHOLD, type Dihedral } from './pdq.ts';
import { PdqHash } from './pdqHash.ts';
import { PdqIndex } from './pdqIndex.ts';
import { readPdqIndexFile, writePdqIndexFile } from './pdqIndexFile.ts';
import { SIGNAL_TYPES, type SignalType } from './signal.ts';
import { UrlMatcher } from './url.ts';
import { dedupeFeatures, matchVpdq, parseVpdqSignal, type VpdqFeature } from './vpdqFormat.ts';

export interface SignalMatch {
  bank: string;
  signalId: number;
  type: SignalType;
  value: string;
  labels: string[];
  source: string;
  /** PDQ: Hamming distance to the bank's hash */
  distance?: number;
  /** PDQ: which dihedral variant of the query matched, when variants were queried (e.g. 'rot90') */
  variant?: Dihedral;
  /** vPDQ: share of unique good frames matched, each way */
  vpdq?: { queryMatchPercent: number; targetMatchPercent: number };
  /** may policy act on this match without human review? */
  autoAction: boolean;
  reason?: 'low_quality' | 'false_positive_label';
}

export interface QuerySignals {
  pdq?: PdqHash | string;
  /** all eight dihedral hashes of the content, to match rotated or mirrored copies (see pdqDihedralHashImage) */
  pdqVariants?: Partial<Record<Dihedral, PdqHash>>;
  /** quality of the queried content's PDQ; below 50 no automatic action */
  quality?: number;
  md5?: string;
  sha256?: string;
  url?: string;
  vpdq?: readonly VpdqFeature[];
}

export interface MatcherLoadOptions {
  /** a file to keep the built PDQ index in, and reopen it from while it is current (pdqIndexFile.ts) */
  indexFile?: string;
  /** how far below a stored index's last id a late commit may land (default LATE_COMMITS) */
  lateCommits?: number;
}

/** What a stored index holds of one bank: its live PDQ signals' count, id sum and last id. */
interface PdqBankState {
  bank: string;
  count: number;
  sum: number;
  max: number;
  /** its tombstoned PDQ ids up to max when written; absent when there were too many to list */
  dead?: number[];
}

/** Tombstones a stored index lists per bank (~8 bytes each in its JSON header); beyond, the full count check. */
const MAX_LISTED_TOMBSTONES = 50_000;
/** Ids committed out of order (PostgreSQL sequences) land within this many of the last one (as LiveBanks). */
const LATE_COMMITS = 10_000;

interface IndexFileAbout {
  banks: PdqBankState[];
  pdqThreshold: number;
}

interface Hit {
  id: number;
  distance?: number;
  variant?: Dihedral;
  vpdq?: { queryMatchPercent: number; targetMatchPercent: number };
  lowQuality?: boolean;
}

export class Matcher {
  private pdq: PdqIndex;
  private readonly exact = new Map<string, number[]>();
  private readonly urls = new UrlMatcher<number>();
  private readonly videos = new Map<number, VpdqFeature[]>();
  private readonly videoFrames: PdqIndex;
  private count = 0;
  /** true when the PDQ index was reopened from its stored file (Matcher.load's indexFile) */
  pdqFromFile = false;

  constructor(
    private readonly store: BankStore,
    readonly banks: readonly string[],
    readonly pdqThreshold = PDQ_MATCH_THRESHOLD,
  ) {
    // a bank may ask for a wider radius than PDQ's 31 (held-for-review banks in a crisis)
    this.pdq = new PdqIndex({ maxDistance: Math.max(PDQ_MATCH_THRESHOLD, pdqThreshold) });
    this.videoFrames = new PdqIndex({ maxDistance: Math.max(PDQ_MATCH_THRESHOLD, pdqThreshold) });
  }

  /**
   * Loads every live signal of the banks. onProgress gets the number loaded so far. With `indexFile`, the
   * PDQ index is reopened from that file when it is still current (every bank's live PDQ ids up to the
   * file's last id have the count and sum recorded in it), then only signals added since are read;
   * otherwise it is built from the store and the file (re)written.
   */
  static async load(store: BankStore, banks: readonly string[], onProgress?: (loaded: number) => void, pdqThreshold = PDQ_MATCH_THRESHOLD, options: MatcherLoadOptions = {}): Promise<Matcher> {
    const matcher = new Matcher(store, banks, pdqThreshold);
    for (const bank of banks) if (!(await store.getBank(bank))) throw new TypeError(`no bank named "${bank}"`);
    const stored = options.indexFile ? await matcher.reopen(options.indexFile, options.lateCommits ?? LATE_COMMITS) : undefined;
    // tombstones before a build: one revived while its page was read is added before the file is written
    const deadBefore = new Map<string, number[]>();
    if (options.indexFile && !stored) for (const bank of banks) deadBefore.set(bank, await store.pdqTombstones(bank, Number.MAX_SAFE_INTEGER, MAX_LISTED_TOMBSTONES + 1));
    const states: PdqBankState[] = [];
    for (const bank of banks) {
      // PDQ hashes come as packed pages (one aggregated row each, decoded natively) and are bulk-loaded
      // in one index build: no object or hex parse per hash, so a 10M-hash bank loads in seconds.
      const after = stored?.find((b) => b.bank === bank)?.max ?? 0;
      const pages: Array<{ words: Uint32Array; ids: Uint32Array }> = [];
      let n = 0;
      const state: PdqBankState = { bank, count: 0, sum: 0, max: 0 };
      for await (const page of store.pdqHashPages(bank, 100_000, after)) {
        pages.push(page);
        n += page.ids.length;
        matcher.count += page.ids.length;
        for (const id of page.ids) {
          state.count++;
          state.sum += id;
          if (id > state.max) state.max = id;
        }
        onProgress?.(matcher.count);
      }
      states.push(state);
      // one query per type: each an index range on (bank, signal_type, id); several types in one IN list
      // made SQLite walk every row of the bank by id (seconds at 10M PDQ hashes, to find a few others)
      for (const type of SIGNAL_TYPES) {
        if (type === 'pdq' || type === 'text') continue;
        for await (const s of store.signals(bank, { types: [type] })) {
          matcher.add(s);
          if (matcher.count % 10_000 === 0) onProgress?.(matcher.count);
        }
      }
      if (!n) continue;
      if (stored) {
        // signals added since the file was written: into the index's delta, no rebuild
        for (const page of pages) for (let i = 0; i < page.ids.length; i++) matcher.pdq.add(page.words.subarray(i * 8, i * 8 + 8), page.ids[i]!);
        continue;
      }
      const words = new Uint32Array(n * 8);
      const ids = new Uint32Array(n);
      let at = 0;
      for (const page of pages.splice(0)) {
        words.set(page.words, at * 8);
        ids.set(page.ids, at);
        at += page.ids.length;
      }
      // the first bank's arrays become the index's storage (adopted, not copied); later banks append
      if (matcher.pdq.size === 0) matcher.pdq = PdqIndex.fromPacked(words, ids, { maxDistance: matcher.pdq.maxDistance });
      else matcher.pdq.addPacked(words, ids);
    }
    if (options.indexFile && !stored) {
      for (const state of states) {
        const dead = await store.pdqTombstones(state.bank, state.max, MAX_LISTED_TOMBSTONES + 1);
        const now = new Set(dead);
        await matcher.reconcile(state.bank, (deadBefore.get(state.bank) ?? []).filter((id) => id <= state.max && !now.has(id)));
        if (dead.length <= MAX_LISTED_TOMBSTONES) state.dead = dead;
      }
      writePdqIndexFile(options.indexFile, matcher.pdq, { banks: states, pdqThreshold } satisfies IndexFileAbout);
    }
    onProgress?.(matcher.count);
    return matcher;
  }

  /**
   * Adopts the index in `file` when it can be made current for these banks; returns what it holds per
   * bank. Cheap checks only: the bank still has its last PDQ id (not emptied or recreated); its tombstones
   * now against those the file lists (revived since: added; removed since: dropped, though a removed
   * signal never matches anyway: matches are confirmed against the store); the live ids within
   * `lateCommits` (LATE_COMMITS) of its last id (committed after the file was written) added when missing. A file that
   * could not list its tombstones falls back to the count and sum of every live id (a scan).
   */
  private async reopen(file: string, lateCommits: number): Promise<PdqBankState[] | undefined> {
    const read = readPdqIndexFile(file);
    if (!read) return undefined;
    const about = read.about as IndexFileAbout;
    if (about?.pdqThreshold !== this.pdqThreshold || !Array.isArray(about.banks) || about.banks.map((b) => b.bank).join('\n') !== this.banks.join('\n')) return undefined;
    if (read.index.maxDistance !== this.pdq.maxDistance) return undefined;
    const fresh = this.pdq;
    this.pdq = read.index;
    const adopted = await this.adopt(about.banks, lateCommits).catch((error: unknown) => {
      this.pdq = fresh;
      throw error;
    });
    if (!adopted) {
      this.pdq = fresh;
      return undefined;
    }
    this.pdqFromFile = true;
    this.count += this.pdq.size;
    return about.banks;
  }

  private async adopt(banks: readonly PdqBankState[], lateCommits: number): Promise<boolean> {
    for (const b of banks) {
      if (!Array.isArray(b.dead)) {
        const now = await this.store.pdqState(b.bank, b.max);
        if (now.count !== b.count || now.sum !== b.sum) return false;
        continue;
      }
      if (b.max > 0 && (await this.store.lastPdqId(b.bank, b.max)) !== b.max) return false;
      const dead = await this.store.pdqTombstones(b.bank, b.max, MAX_LISTED_TOMBSTONES + 1);
      if (dead.length > MAX_LISTED_TOMBSTONES) return false;
      const now = new Set(dead);
      const was = new Set(b.dead);
      await this.reconcile(b.bank, [...b.dead.filter((id) => !now.has(id)), ...dead.filter((id) => !was.has(id))]);
      for await (const page of this.store.pdqHashPages(b.bank, 100_000, Math.max(0, b.max - lateCommits), b.max)) {
        for (let i = 0; i < page.ids.length; i++) this.addPdqOnce(page.words.subarray(i * 8, i * 8 + 8), page.ids[i]!);
      }
    }
    return true;
  }

  /** Brings these PDQ signals of a bank in the index in line with the store: live ones in, removed ones out. */
  private async reconcile(bank: string, ids: readonly number[]): Promise<void> {
    if (!ids.length) return;
    for (const s of await this.store.getSignalsByIds(ids)) {
      if (s.type !== 'pdq' || s.bank !== bank) continue;
      if (s.removedAt === null) this.addPdqOnce(PdqHash.fromHex(s.value).toWords(), s.id);
      else this.pdq.remove(s.value, s.id);
    }
  }

  private addPdqOnce(words: Uint32Array, id: number): void {
    if (!this.pdq.query(words, 0).some((m) => m.key === id)) this.pdq.add(words, id);
  }

  get size(): number {
    return this.count;
  }

  /** Adds one live signal (e.g. just added to a bank), without rebuilding anything. */
  add(s: BankSignal): void {
    this.count++;
    switch (s.type) {
      case 'pdq':
        this.pdq.add(s.value, s.id);
        break;
      case 'md5':
      case 'sha256': {
        const key = `${s.type}:${s.value}`;
        this.exact.set(key, [...(this.exact.get(key) ?? []), s.id]);
        break;
      }
      case 'url':
        this.urls.add(s.value, s.id);
        break;
      case 'vpdq': {
        const features = dedupeFeatures(parseVpdqSignal(s.value));
        this.videos.set(s.id, features);
        for (const f of features) if (f.quality >= PDQ_QUALITY_THRESHOLD) this.videoFrames.add(f.hash, s.id);
        break;
      }
    }
  }

  /** Adds a signal unless it is already held (a revived one may or may not be): true when added. */
  addOnce(s: BankSignal): boolean {
    if (this.holds(s)) return false;
    this.add(s);
    return true;
  }

  private holds(s: BankSignal): boolean {
    switch (s.type) {
      case 'pdq':
        return this.pdq.query(PdqHash.fromHex(s.value).toWords(), 0).some((m) => m.key === s.id);
      case 'md5':
      case 'sha256':
        return this.exact.get(`${s.type}:${s.value}`)?.includes(s.id) ?? false;
      case 'url':
        return this.urls.has(s.value, (id) => id === s.id);
      case 'vpdq':
        return this.videos.has(s.id);
      default:
        return false;
    }
  }

  /** Removes one signal (e.g. just removed from a bank). */
  remove(s: BankSignal): void {
    this.count--;
    switch (s.type) {
      case 'pdq':
        this.pdq.remove(s.value, s.id);
        break;
      case 'md5':
      case 'sha256': {
        const key = `${s.type}:${s.value}`;
        const left = (this.exact.get(key) ?? []).filter((id) => id !== s.id);
        if (left.length) this.exact.set(key, left);
        else this.exact.delete(key);
        break;
      }
      case 'url':
        this.urls.remove(s.value, (id) => id === s.id);
        break;
      case 'vpdq': {
        for (const f of this.videos.get(s.id) ?? []) if (f.quality >= PDQ_QUALITY_THRESHOLD) this.videoFrames.remove(f.hash, s.id);
        this.videos.delete(s.id);
        break;
      }
    }
  }

  /** Matches a hasher's output (or any set of signals) against the loaded banks. */
  async match(query: QuerySignals | ContentSignals): Promise<SignalMatch[]> {
    const hits: Hit[] = [];
    const lowQuality = (query.quality ?? 0) < PDQ_QUALITY_THRESHOLD;
    if (query.pdqVariants) {
      // the closest variant per bank signal
      const best = new Map<number, Hit>();
      for (const [variant, hash] of Object.entries(query.pdqVariants) as Array<[Dihedral, PdqHash]>) {
        for (const m of this.pdq.query(hash, this.pdqThreshold)) {
          const seen = best.get(m.key);
          if (!seen || m.distance < seen.distance!) best.set(m.key, { id: m.key, distance: m.distance, variant, lowQuality });
        }
      }
      hits.push(...best.values());
    } else if (query.pdq !== undefined) {
      for (const m of this.pdq.query(query.pdq, this.pdqThreshold)) hits.push({ id: m.key, distance: m.distance, lowQuality });
    }
    for (const type of ['md5', 'sha256'] as const) {
      const value = query[type];
      if (value) for (const id of this.exact.get(`${type}:${value.toLowerCase()}`) ?? []) hits.push({ id });
    }
    if ('url' in query && query.url) for (const m of this.urls.match(query.url)) hits.push({ id: m.data });
    if (query.vpdq?.length) {
      const candidates = new Set<number>();
      for (const f of dedupeFeatures(query.vpdq)) {
        if (f.quality >= PDQ_QUALITY_THRESHOLD) for (const m of this.videoFrames.query(f.hash, this.pdqThreshold)) candidates.add(m.key);
      }
      for (const id of candidates) {
        const r = matchVpdq(query.vpdq, this.videos.get(id) ?? []);
        if (r.match) hits.push({ id, vpdq: { queryMatchPercent: r.queryMatchPercent, targetMatchPercent: r.targetMatchPercent } });
      }
    }
    if (!hits.length) return [];
    const byId = new Map((await this.store.getSignalsByIds([...new Set(hits.map((h) => h.id))])).map((s) => [s.id, s]));
    const out: SignalMatch[] = [];
    for (const h of hits) {
      const s = byId.get(h.id);
      if (!s || s.removedAt !== null) continue; // removed from the bank since this matcher loaded
      const falsePositive = s.labels.includes('review:false_positive');
      out.push({
        bank: s.bank,
        signalId: s.id,
        type: s.type,
        value: s.value,
        labels: s.labels,
        source: s.source,
        ...(h.distance !== undefined && { distance: h.distance }),
        ...(h.variant && { variant: h.variant }),
        ...(h.vpdq && { vpdq: h.vpdq }),
        autoAction: !h.lowQuality && !falsePositive,
        ...(h.lowQuality ? { reason: 'low_quality' as const } : falsePositive ? { reason: 'false_positive_label' as const } : {}),
      });
    }
    return out.sort((a, b) => (a.distance ?? 0) - (b.distance ?? 0) || a.signalId - b.signalId);
  }
}
