/**
 * A platform's side of the hub: the feed synced into named banks (hub bank `tvec` → local bank
 * `hub-tvec`), continuously, every page verified before it is used, and this platform's moderators'
 * opinions sent back.
 *
 * Verification. The feed is the hub's transparency log. The sync keeps the Merkle frontier of every
 * entry it has applied (RootBuilder's subtrees) and the last checkpoint it accepted. For each page it
 * checks the checkpoint's signature against the pinned log key; that the checkpoint extends the last one
 * it accepted (RFC 9162 consistency proof; a shrunken log or another root for the same size is a
 * rewritten history); and that the applied entries plus this page are a prefix of that checkpoint's
 * tree (the page's own consistency proof from its end to the checkpoint). Only then is the page applied,
 * with the cursor and frontier in the same transaction, so a restart resumes exactly where the last
 * committed page ended: nothing lost, nothing twice. A failed check stops the sync (status
 * `compromised`) and says why; it does not resume until the operator resets it.
 *
 * HMA's fetch_iter semantics: a `signal` entry carries the signal (upsert), a `withdraw` entry carries
 * none (a tombstone); new or revived signals are queued for a retro-sweep of published content.
 */
import { fromBase64, openCheckpoint, RootBuilder, toBase64, verifyConsistency, equalBytes, ProofError, NoteError, type VerifiedCheckpoint } from '@doublelock/log/verifier';
import { BankStore, DISPUTED_LABEL, prepareSignal, SignalOpinionStore, SweepStore, tombstoneSignal, writeSignals, type SignalInput } from '@doublelock/moderation';
import type { HubEntry } from '@doublelock/protocol';
import type { Db, SqlRunner } from '@doublelock/store';
import { decodeEntry, EntryError } from '../entry.ts';
import { HubClient, HubHttpError, type HubFeedPage } from './client.ts';

export class HubIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HubIntegrityError';
  }
}

export interface HubSyncOptions {
  db: Db;
  client: HubClient;
  /** the hub's log key (`<name>+<id>+<key>`); without one the key the hub announces is pinned on first use */
  logKey?: string | undefined;
  /** local bank = prefix + hub bank */
  bankPrefix?: string;
  pageSize?: number;
  /**
   * Verified entries applied per transaction (default 100,000): consecutive pages are written together,
   * so a large sync pays one commit (and one rewrite of the banks' index pages) per batch, not per page.
   * The cursor commits with each batch: a restart resumes after the last committed one.
   */
  applyBatch?: number;
  /** queue retro-sweeps of published content against what arrives (default true) */
  sweep?: boolean;
  now?: () => number;
}

export interface SyncState {
  hub: string;
  logKey: string;
  cursor: number;
  checkpointSize: number;
  checkpointRoot: string;
  opinionsCursor: number;
  status: 'ok' | 'compromised';
  error: string | null;
  updatedAt: number;
}

export interface SyncResult {
  /** log entries read and verified */
  entries: number;
  /** signals written (added, updated or revived) and withdrawn locally */
  signals: number;
  withdrawn: number;
  cursor: number;
  size: number;
  sweeps: number;
}

interface StateRow {
  hub: string;
  log_key: string;
  cursor: number;
  frontier: string;
  checkpoint_size: number;
  checkpoint_root: string;
  opinions_cursor: number;
  status: string;
  error: string | null;
  updated_at: number;
}

type Frontier = Array<{ height: number; hash: string }>;

const encodeFrontier = (b: RootBuilder) => JSON.stringify(b.snapshot().nodes.map((n) => ({ height: n.height, hash: toBase64(n.hash) })));
const decodeFrontier = (size: number, json: string) => RootBuilder.restore({ size, nodes: (JSON.parse(json) as Frontier).map((n) => ({ height: n.height, hash: fromBase64(n.hash) })) });

export class HubSync {
  readonly db: Db;
  readonly client: HubClient;
  readonly bankPrefix: string;
  readonly pageSize: number;
  readonly applyBatch: number;
  readonly banks: BankStore;
  readonly #sweep: boolean;
  readonly #now: () => number;
  readonly #pinnedKey: string | undefined;
  #running: Promise<SyncResult> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #again = false;
  #verified = new Map<string, VerifiedCheckpoint>();

  constructor(options: HubSyncOptions) {
    this.db = options.db;
    this.client = options.client;
    this.bankPrefix = options.bankPrefix ?? 'hub-';
    this.pageSize = options.pageSize ?? 5000;
    this.applyBatch = options.applyBatch ?? 100_000;
    this.banks = new BankStore(options.db);
    this.#sweep = options.sweep ?? true;
    this.#now = options.now ?? Date.now;
    this.#pinnedKey = options.logKey;
  }

  get hub(): string {
    return this.client.url;
  }

  async state(): Promise<SyncState | undefined> {
    const r = await this.db.get<StateRow>('SELECT * FROM hub_sync WHERE hub = ?', [this.hub]);
    return (
      r && {
        hub: r.hub,
        logKey: r.log_key,
        cursor: Number(r.cursor),
        checkpointSize: Number(r.checkpoint_size),
        checkpointRoot: r.checkpoint_root,
        opinionsCursor: Number(r.opinions_cursor),
        status: r.status as SyncState['status'],
        error: r.error,
        updatedAt: Number(r.updated_at),
      }
    );
  }

  /** Clears a `compromised` stop after the operator has looked into it (the cursor stays). */
  async reset(): Promise<void> {
    await this.db.run("UPDATE hub_sync SET status = 'ok', error = NULL WHERE hub = ?", [this.hub]);
  }

  /** One pass: reads and applies the feed up to the hub's current checkpoint, then sends opinions on. */
  sync(): Promise<SyncResult> {
    if (this.#running) {
      this.#again = true; // a webhook or a timer asked while a pass ran: run once more after it
      return this.#running;
    }
    this.#running = this.#pass().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #pass(): Promise<SyncResult> {
    let result: SyncResult;
    do {
      this.#again = false;
      result = await this.#syncFeed();
      await this.forwardOpinions();
    } while (this.#again);
    return result;
  }

  async #ensureState(): Promise<StateRow> {
    let row = await this.db.get<StateRow>('SELECT * FROM hub_sync WHERE hub = ?', [this.hub]);
    if (!row) {
      const logKey = this.#pinnedKey ?? (await this.client.info()).logKey;
      await this.db.run(
        "INSERT INTO hub_sync (hub, log_key, cursor, frontier, checkpoint_size, checkpoint_root, opinions_cursor, status, error, updated_at) VALUES (?, ?, 0, '[]', 0, '', ?, 'ok', NULL, ?) ON CONFLICT (hub) DO NOTHING",
        [this.hub, logKey, await this.#latestOpinionId(), this.#now()],
      );
      row = (await this.db.get<StateRow>('SELECT * FROM hub_sync WHERE hub = ?', [this.hub]))!;
    }
    if (this.#pinnedKey && row.log_key !== this.#pinnedKey) throw new HubIntegrityError(`the hub's log key was pinned as ${row.log_key}, and is now configured as ${this.#pinnedKey}: reset the sync deliberately if the hub changed its key`);
    if (row.status === 'compromised') throw new HubIntegrityError(`sync with ${this.hub} is stopped: ${row.error ?? 'integrity check failed'}`);
    return row;
  }

  /** Opinions recorded before the platform joined the hub are not sent (they were never about hub signals). */
  async #latestOpinionId(): Promise<number> {
    return Number((await this.db.get<{ m: number | null }>('SELECT MAX(id) AS m FROM moderation_signal_opinions'))?.m ?? 0);
  }

  async #fail(message: string): Promise<never> {
    await this.db.run("UPDATE hub_sync SET status = 'compromised', error = ?, updated_at = ? WHERE hub = ?", [message, this.#now(), this.hub]);
    throw new HubIntegrityError(message);
  }

  #open(note: string, logKey: string): VerifiedCheckpoint {
    const cached = this.#verified.get(note);
    if (cached) return cached;
    const cp = openCheckpoint(note, logKey);
    if (this.#verified.size > 16) this.#verified.clear();
    this.#verified.set(note, cp);
    return cp;
  }

  async #syncFeed(): Promise<SyncResult> {
    const row = await this.#ensureState();
    let builder = decodeFrontier(Number(row.cursor), row.frontier);
    let seen = { size: Number(row.checkpoint_size), root: row.checkpoint_root ? fromBase64(row.checkpoint_root) : undefined };
    const result: SyncResult = { entries: 0, signals: 0, withdrawn: 0, cursor: builder.size, size: seen.size, sweeps: 0 };
    // verified pages waiting to be written together (applyBatch), from `applied` (the committed cursor)
    let batch: HubEntry[] = [];
    let applied = builder.size;
    let verified: VerifiedCheckpoint | undefined;
    const write = async (cp: VerifiedCheckpoint) => {
      if (!batch.length) return;
      const done = await this.#apply(batch, applied, builder, cp);
      result.entries += batch.length;
      result.signals += done.signals;
      result.withdrawn += done.withdrawn;
      result.sweeps += done.sweeps;
      result.cursor = builder.size;
      applied = builder.size;
      batch = [];
    };
    // the next page is fetched while this one is verified and written: the hub serves and this platform
    // applies at the same time (a page is used only after its own checks, so reading ahead is safe)
    let ahead: Promise<HubFeedPage> | undefined;
    try {
      for (;;) {
        const page = await (ahead ?? this.client.feed(builder.size, this.pageSize));
        ahead = undefined;
        const pageEnd = page.after + page.entries.length;
        if (page.after === builder.size && page.entries.length > 0 && pageEnd < page.size) {
          ahead = this.client.feed(pageEnd, this.pageSize);
          ahead.catch(() => undefined); // awaited on the next turn, or dropped with the pass
        }
        let cp: VerifiedCheckpoint;
        try {
          cp = this.#open(page.checkpoint, row.log_key);
        } catch (error) {
          if (error instanceof NoteError) return this.#fail(`the hub's checkpoint does not verify with its pinned log key: ${error.message}`);
          throw error;
        }
        if (page.size !== cp.size || page.after !== builder.size) return this.#fail(`the hub's feed page does not match its checkpoint (size ${page.size} vs ${cp.size}, after ${page.after} vs ${builder.size})`);
        // the checkpoint must extend the last one accepted
        if (cp.size < seen.size) return this.#fail(`the hub's log shrank from ${seen.size} to ${cp.size} entries: history was rewritten`);
        if (seen.root && cp.size === seen.size && !equalBytes(cp.rootHash, seen.root)) return this.#fail(`the hub shows two different logs of size ${cp.size}: history was rewritten`);
        if (seen.root && seen.size > 0 && cp.size > seen.size) {
          try {
            verifyConsistency(seen.size, cp.size, await this.client.consistencyProof(seen.size, cp.size), seen.root, cp.rootHash);
          } catch (error) {
            if (error instanceof ProofError) return this.#fail(`the hub's log of size ${cp.size} does not extend the one of size ${seen.size} it showed before: history was rewritten (${error.message})`);
            throw error;
          }
        }
        // the applied entries and this page must be a prefix of the checkpoint's tree
        const next = RootBuilder.restore(builder.snapshot());
        for (const e of page.entries) next.addEntry(e);
        try {
          if (next.size > cp.size) throw new ProofError(`the page runs past the checkpoint (${next.size} > ${cp.size})`);
          if (next.size === cp.size) {
            if (!equalBytes(next.root(), cp.rootHash)) throw new ProofError('the entries do not hash to the checkpoint root');
          } else if (next.size > 0) verifyConsistency(next.size, cp.size, HubClient.proof(page), next.root(), cp.rootHash);
        } catch (error) {
          if (error instanceof ProofError) return this.#fail(`entries ${builder.size}–${next.size} of the hub's feed are not in its signed log: ${error.message}`);
          throw error;
        }
        let entries: HubEntry[];
        try {
          entries = page.entries.map((e) => decodeEntry(e));
        } catch (error) {
          if (error instanceof EntryError) return this.#fail(`the hub's log holds an entry that is not a hub entry: ${error.message}`);
          throw error;
        }
        for (const e of entries) batch.push(e);
        verified = cp;
        seen = { size: cp.size, root: cp.rootHash };
        result.size = cp.size;
        builder = next;
        const last = builder.size >= cp.size || entries.length === 0;
        if (last || batch.length >= this.applyBatch) await write(cp);
        if (last) return result;
      }
    } catch (error) {
      // pages verified before a failure (a bad page, the network) are still written
      if (verified) await write(verified).catch(() => undefined);
      throw error;
    } finally {
      await ahead?.catch(() => undefined);
    }
  }

  /** Applies verified entries (after the committed cursor `from`), the new cursor, frontier and checkpoint in one transaction. */
  async #apply(entries: HubEntry[], from: number, builder: RootBuilder, cp: VerifiedCheckpoint): Promise<{ signals: number; withdrawn: number; sweeps: number }> {
    const banks = new Set<string>();
    for (const e of entries) if (e.op === 'signal' || e.op === 'withdraw') banks.add(this.bankPrefix + e.bank);
    for (const b of banks) if (!(await this.banks.getBank(b))) await this.banks.createBank(b, `synced from the hash-sharing hub ${this.hub}`);
    const now = this.#now();
    return this.db.transaction(
      async (tx) => {
        const cur = await tx.get<{ cursor: number }>('SELECT cursor FROM hub_sync WHERE hub = ?', [this.hub]);
        if (!cur || Number(cur.cursor) !== from) throw new Error('the hub sync moved under this pass (another sync runs on this database)');
        const localDisputes = await disputedLocally(tx, banks);
        const fresh = new Map<string, Set<number>>();
        // signals are written in multi-row upserts per bank; a withdrawal of a signal still pending is
        // written after it (log order); others need no ordering against the pending writes
        const pending = new Map<string, { signals: Array<Required<SignalInput>>; keys: Set<string> }>();
        const flush = async (bank: string) => {
          const p = pending.get(bank);
          if (!p) return;
          pending.delete(bank);
          for (const w of await writeSignals(tx, bank, p.signals)) {
            if (!w.fresh) continue;
            if (!fresh.has(bank)) fresh.set(bank, new Set());
            fresh.get(bank)!.add(w.id);
          }
        };
        let signals = 0;
        let withdrawn = 0;
        for (const e of entries) {
          if (e.op === 'signal') {
            const bank = this.bankPrefix + e.bank;
            const labels = new Set(e.labels);
            const s = prepareSignal({ type: e.type, value: e.value, labels: e.labels, source: `hub:${e.member}`, quality: e.quality, addedAt: e.at });
            const key = `${e.type}\n${s.value}`;
            if (e.disputed || localDisputes.get(bank)?.has(key)) s.labels = [...labels.add(DISPUTED_LABEL)].sort();
            let p = pending.get(bank);
            if (!p) pending.set(bank, (p = { signals: [], keys: new Set() }));
            p.signals.push(s);
            p.keys.add(key);
            signals++;
          } else if (e.op === 'withdraw') {
            const bank = this.bankPrefix + e.bank;
            if (pending.get(bank)?.keys.has(`${e.type}\n${e.value}`)) await flush(bank);
            if ((await tombstoneSignal(tx, bank, e.type, e.value, e.at)) !== undefined) withdrawn++;
          }
        }
        for (const bank of [...pending.keys()]) await flush(bank);
        let sweeps = 0;
        if (this.#sweep) {
          const sweepStore = new SweepStore(tx as unknown as Db); // uses only get/all/run: the sweep is queued with the page
          for (const [bank, ids] of fresh) {
            await sweepStore.create({ bank, signalIds: [...ids] }, now);
            sweeps++;
          }
        }
        await tx.run('UPDATE hub_sync SET cursor = ?, frontier = ?, checkpoint_size = ?, checkpoint_root = ?, updated_at = ? WHERE hub = ?', [
          builder.size,
          encodeFrontier(builder),
          cp.size,
          toBase64(cp.rootHash),
          now,
          this.hub,
        ]);
        return { signals, withdrawn, sweeps };
      },
      { readCommitted: false },
    );
  }

  /**
   * Sends this platform's moderators' opinions on hub signals back to the hub: a confirmed match is
   * positive (true positive), a decision reversed on appeal negative (false positive). Resumes from
   * its cursor; an opinion on a signal the hub no longer knows is skipped.
   */
  async forwardOpinions(): Promise<number> {
    const state = await this.state();
    if (!state) return 0;
    const opinions = new SignalOpinionStore(this.db);
    let cursor = state.opinionsCursor;
    let sent = 0;
    for (;;) {
      const batch = await opinions.after(cursor, 200);
      if (!batch.length) return sent;
      const signals = new Map((await this.banks.getSignalsByIds(batch.map((o) => o.signalId))).map((s) => [s.id, s]));
      for (const o of batch) {
        const s = signals.get(o.signalId);
        if (s && o.bank.startsWith(this.bankPrefix) && s.type !== 'text') {
          const ref = { bank: o.bank.slice(this.bankPrefix.length), type: s.type, value: s.value };
          try {
            await this.client.opinion(ref, o.opinion === 'positive' ? { opinion: 'positive', feedback: 'true_positive' } : { opinion: 'negative', feedback: 'false_positive' });
            sent++;
          } catch (error) {
            if (!(error instanceof HubHttpError && error.status === 404)) throw error;
          }
        }
        cursor = o.id;
        await this.db.run('UPDATE hub_sync SET opinions_cursor = ? WHERE hub = ?', [cursor, this.hub]);
      }
    }
  }

  /** Syncs every `ms` (and whenever `sync()` is called, e.g. by an incident webhook) until stop(). */
  start(ms: number, onError: (error: unknown) => void): void {
    this.stop();
    const tick = () => {
      this.sync()
        .catch(onError)
        .finally(() => {
          if (this.#timer) this.#timer = setTimeout(tick, ms).unref();
        });
    };
    this.#timer = setTimeout(tick, 0).unref();
  }

  /** Stops the timer and waits for a running pass. */
  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }
}

/** Signals of these banks this platform's own moderators found wrong (a reversed appeal): they stay disputed here. */
async function disputedLocally(tx: SqlRunner, banks: ReadonlySet<string>): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const bank of banks) {
    const rows = await tx.all<{ signal_type: string; value: string }>(
      "SELECT s.signal_type, s.value FROM moderation_signal_opinions o JOIN moderation_signals s ON s.id = o.signal_id WHERE o.bank = ? AND o.opinion = 'negative'",
      [bank],
    );
    out.set(bank, new Set(rows.map((r) => `${r.signal_type}\n${r.value}`)));
  }
  return out;
}
