/**
 * Banks: named collections of signals (type, canonical value, labels, source, added/removed time), kept
 * in the store through the `Db` seam, so the same code runs on SQLite and PostgreSQL. Removal is a
 * tombstone (removed_at), so exports and hash-sharing peers can carry removals, and re-adding revives.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Db, SqlRunner, SqlValue } from '@doublelock/store';
import { RULE_ACTIONS, SEVERITIES, type RuleAction, type Severity } from './check/decision.ts';
import { normaliseSignalValue, type SignalType, isSignalType } from './signal.ts';
import { checkLabel } from './taxonomy.ts';

export interface Bank {
  name: string;
  description: string;
  createdAt: number;
}

export interface BankSummary extends Bank {
  /** live signals per type */
  counts: Partial<Record<SignalType, number>>;
  removed: number;
}

export interface SignalInput {
  type: SignalType;
  value: string;
  labels?: readonly string[];
  source?: string;
  quality?: number | null;
  /** ms since the epoch; default now */
  addedAt?: number;
  /** set to import a removal (tombstone) */
  removedAt?: number | null;
  /** the signal's own action (a text rule's; or a hash overriding its bank's action); null: the bank's */
  action?: RuleAction | null;
  severity?: Severity | null;
}

export interface BankSignal {
  id: number;
  bank: string;
  type: SignalType;
  value: string;
  labels: string[];
  source: string;
  quality: number | null;
  addedAt: number;
  removedAt: number | null;
  action: RuleAction | null;
  severity: Severity | null;
}

interface SignalRow {
  id: number;
  bank: string;
  signal_type: string;
  value: string;
  labels: string;
  source: string;
  quality: number | null;
  added_at: number;
  removed_at: number | null;
  action?: string | null;
  severity?: string | null;
}

const BANK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function checkBankName(name: string): string {
  if (typeof name !== 'string' || !BANK_NAME.test(name)) throw new TypeError(`a bank name is 1–64 letters, digits, _ . - (starting with a letter or digit), not "${String(name).slice(0, 80)}"`);
  return name;
}

const keyEncoder = new TextEncoder();
const keyInitial = sha256.create();
const keyScratch = sha256.create();
const keyDigest = new Uint8Array(32);

/** SHA-256 of the value, hex. Every synced or imported signal needs one: one state is reused (no per-call setup). */
function valueKey(value: string): string {
  keyInitial._cloneInto(keyScratch);
  keyScratch.update(keyEncoder.encode(value)).digestInto(keyDigest);
  return bytesToHex(keyDigest);
}

function fromRow(r: SignalRow): BankSignal {
  return {
    id: Number(r.id),
    bank: r.bank,
    type: r.signal_type as SignalType,
    value: r.value,
    labels: r.labels ? r.labels.split(' ') : [],
    source: r.source,
    quality: r.quality === null ? null : Number(r.quality),
    addedAt: Number(r.added_at),
    removedAt: r.removed_at === null ? null : Number(r.removed_at),
    action: (r.action ?? null) as RuleAction | null,
    severity: (r.severity ?? null) as Severity | null,
  };
}

/** A signal checked and put in canonical form, ready to store. */
export function prepareSignal(input: SignalInput): Required<SignalInput> {
  if (!isSignalType(input.type)) throw new TypeError(`unknown signal type "${String(input.type)}"`);
  const quality = input.quality ?? null;
  if (quality !== null && (!Number.isInteger(quality) || quality < 0 || quality > 100)) throw new TypeError(`quality must be an integer 0–100, not ${quality}`);
  const labels = [...new Set((input.labels ?? []).map(checkLabel))].sort();
  const source = (input.source ?? '').trim();
  if (source.length > 200) throw new TypeError('source is at most 200 characters');
  const addedAt = input.addedAt ?? Date.now();
  if (!Number.isSafeInteger(addedAt) || addedAt < 0) throw new TypeError(`addedAt must be a time in ms, not ${addedAt}`);
  const action = input.action ? (String(input.action).toLowerCase() as RuleAction) : null;
  if (action !== null && !RULE_ACTIONS.includes(action)) throw new TypeError(`action must be one of ${RULE_ACTIONS.join(', ')}, not "${String(input.action)}"`);
  if (action === 'allow' && input.type !== 'text') throw new TypeError('only text rules can be allow-list entries (action "allow")');
  const severity = input.severity ? (String(input.severity).toLowerCase() as Severity) : null;
  if (severity !== null && !SEVERITIES.includes(severity)) throw new TypeError(`severity must be one of ${SEVERITIES.join(', ')}, not "${String(input.severity)}"`);
  return { type: input.type, value: normaliseSignalValue(input.type, input.value), labels, source, quality, addedAt, removedAt: input.removedAt ?? null, action, severity };
}

export class BankStore {
  constructor(private readonly db: Db) {}

  async createBank(name: string, description = '', now = Date.now()): Promise<Bank> {
    checkBankName(name);
    await this.db.run('INSERT INTO moderation_banks (name, description, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING', [name, description, now]);
    const bank = await this.getBank(name);
    if (!bank) throw new Error(`bank ${name} could not be created`);
    return bank;
  }

  async getBank(name: string): Promise<Bank | undefined> {
    const row = await this.db.get<{ name: string; description: string; created_at: number }>('SELECT name, description, created_at FROM moderation_banks WHERE name = ?', [name]);
    return row && { name: row.name, description: row.description, createdAt: Number(row.created_at) };
  }

  async listBanks(): Promise<BankSummary[]> {
    const banks = await this.db.all<{ name: string; description: string; created_at: number }>('SELECT name, description, created_at FROM moderation_banks ORDER BY name');
    const counts = await this.db.all<{ bank: string; signal_type: string; live: number; removed: number }>(
      `SELECT bank, signal_type, SUM(CASE WHEN removed_at IS NULL THEN 1 ELSE 0 END) AS live, SUM(CASE WHEN removed_at IS NULL THEN 0 ELSE 1 END) AS removed
       FROM moderation_signals GROUP BY bank, signal_type`,
    );
    return banks.map((b) => {
      const mine = counts.filter((c) => c.bank === b.name);
      return {
        name: b.name,
        description: b.description,
        createdAt: Number(b.created_at),
        counts: Object.fromEntries(mine.filter((c) => Number(c.live) > 0).map((c) => [c.signal_type, Number(c.live)])),
        removed: mine.reduce((a, c) => a + Number(c.removed), 0),
      };
    });
  }

  async deleteBank(name: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await tx.run('DELETE FROM moderation_signals WHERE bank = ?', [name]);
      return (await tx.run('DELETE FROM moderation_banks WHERE name = ?', [name])).changes > 0;
    });
  }

  /**
   * Adds (or updates, or with removedAt tombstones) signals in one transaction. Inputs must already be
   * prepared (prepareSignal) so a bad row is reported before anything is written.
   */
  async putSignals(bank: string, signals: ReadonlyArray<Required<SignalInput>>): Promise<number> {
    await this.requireBank(bank);
    return this.db.transaction(async (tx) => (await writeSignals(tx, bank, signals)).length);
  }

  /**
   * Imports a stream of prepared signals in one transaction: all of them or, if the stream throws (a bad
   * row, a read error), none. Read-committed on PostgreSQL so it is never retried (a stream cannot rewind).
   */
  async importSignals(bank: string, signals: AsyncIterable<Required<SignalInput>>): Promise<number> {
    await this.requireBank(bank);
    return this.db.transaction(
      async (tx) => {
        let n = 0;
        let batch: Array<Required<SignalInput>> = [];
        for await (const s of signals) {
          batch.push(s);
          if (batch.length === UPSERT_ROWS) {
            n += (await writeSignals(tx, bank, batch)).length;
            batch = [];
          }
        }
        return n + (await writeSignals(tx, bank, batch)).length;
      },
      { readCommitted: true },
    );
  }

  async addSignal(bank: string, input: SignalInput): Promise<BankSignal> {
    const s = prepareSignal(input);
    await this.putSignals(bank, [s]);
    const row = await this.getSignal(bank, s.type, s.value);
    if (!row) throw new Error('signal vanished after insert');
    return row;
  }

  async getSignal(bank: string, type: SignalType, value: string): Promise<BankSignal | undefined> {
    const canonical = normaliseSignalValue(type, value);
    const row = await this.db.get<SignalRow>('SELECT * FROM moderation_signals WHERE bank = ? AND signal_type = ? AND value_key = ?', [bank, type, valueKey(canonical)]);
    return row && fromRow(row);
  }

  async getSignalsByIds(ids: readonly number[]): Promise<BankSignal[]> {
    const out: BankSignal[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = await this.db.all<SignalRow>(`SELECT * FROM moderation_signals WHERE id IN (${chunk.map(() => '?').join(', ')})`, chunk);
      out.push(...rows.map(fromRow));
    }
    return out;
  }

  /** Tombstones a signal; false when it is absent or already removed. */
  async removeSignal(bank: string, type: SignalType, value: string, now = Date.now()): Promise<boolean> {
    const canonical = normaliseSignalValue(type, value);
    const { changes } = await this.db.run('UPDATE moderation_signals SET removed_at = ? WHERE bank = ? AND signal_type = ? AND value_key = ? AND removed_at IS NULL', [
      now,
      bank,
      type,
      valueKey(canonical),
    ]);
    return changes > 0;
  }

  /** Pages through a bank's signals in id order (live only unless includeRemoved; all types unless given). */
  async *signals(bank: string, options: { includeRemoved?: boolean; types?: readonly SignalType[]; pageSize?: number } = {}): AsyncGenerator<BankSignal> {
    const pageSize = options.pageSize ?? 5000;
    const types = options.types?.filter(isSignalType) ?? [];
    const typeFilter = types.length ? ` AND signal_type IN (${types.map((t) => `'${t}'`).join(', ')})` : '';
    let after = 0;
    for (;;) {
      const rows = await this.db.all<SignalRow>(
        `SELECT * FROM moderation_signals WHERE bank = ? AND id > ?${options.includeRemoved ? '' : ' AND removed_at IS NULL'}${typeFilter} ORDER BY id LIMIT ?`,
        [bank, after, pageSize],
      );
      for (const r of rows) yield fromRow(r);
      if (rows.length < pageSize) return;
      after = Number(rows[rows.length - 1]!.id);
    }
  }

  /** Live signals of a bank with ids in (after, upto], in id order: what an import or a sync just added. */
  async signalsBetween(bank: string, after: number, upto: number): Promise<BankSignal[]> {
    const rows = await this.db.all<SignalRow>('SELECT * FROM moderation_signals WHERE bank = ? AND id > ? AND id <= ? AND removed_at IS NULL ORDER BY id', [bank, after, upto]);
    return rows.map(fromRow);
  }

  /** The largest signal id so far (0 for none): a cursor for "what was added since". */
  async maxSignalId(): Promise<number> {
    return Number((await this.db.get<{ m: number | null }>('SELECT MAX(id) AS m FROM moderation_signals'))?.m ?? 0);
  }

  /** Live signals of one type as bare (id, value) pages: the fast path for loading millions of hashes. */
  async *signalValues(bank: string, type: SignalType, pageSize = 50_000): AsyncGenerator<Array<{ id: number; value: string }>> {
    let after = 0;
    for (;;) {
      const rows = await this.db.all<{ id: number; value: string }>(
        'SELECT id, value FROM moderation_signals WHERE bank = ? AND signal_type = ? AND removed_at IS NULL AND id > ? ORDER BY id LIMIT ?',
        [bank, type, after, pageSize],
      );
      if (rows.length) yield rows;
      if (rows.length < pageSize) return;
      after = Number(rows[rows.length - 1]!.id);
    }
  }

  /**
   * Live PDQ hashes of a bank as packed pages ready for PdqIndex.addPacked: 8 big-endian words per hash
   * and the signal ids, in the same order. The fast path for loading millions of hashes: each page is
   * one row (two aggregated strings, string_agg on SQLite ≥ 3.44 and PostgreSQL alike) decoded natively
   * (Buffer hex), not one JS object and one hex parse per signal. Both aggregates consume the same rows
   * in the same order, so the i-th id belongs to the i-th hash; the page cursor is MAX(id).
   */
  async *pdqHashPages(bank: string, pageSize = 100_000, after = 0, upto = Number.MAX_SAFE_INTEGER): AsyncGenerator<{ words: Uint32Array; ids: Uint32Array }> {
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1_000_000) throw new RangeError(`pageSize must be 1–1,000,000, not ${pageSize}`);
    for (;;) {
      const row = await this.db.get<{ n: number; last: number | null; hashes: string | null; ids: string | null }>(
        `SELECT COUNT(*) AS n, MAX(id) AS last, string_agg(value, '') AS hashes, string_agg(CAST(id AS TEXT), ',') AS ids
         FROM (SELECT id, value FROM moderation_signals WHERE bank = ? AND signal_type = 'pdq' AND removed_at IS NULL AND id > ? AND id <= ? ORDER BY id LIMIT ?) page`,
        [bank, after, upto, pageSize],
      );
      const n = Number(row?.n ?? 0);
      if (!n || row?.hashes == null || row.ids == null || row.last == null) return;
      yield { words: packedHexToWords(row.hashes, n), ids: decimalListToIds(row.ids, n) };
      if (n < pageSize) return;
      after = Number(row.last);
    }
  }

  /**
   * Count and sum of the ids of a bank's live PDQ signals up to `upto`: what a stored index of the bank
   * must agree with to still be current (a removal, a revival or a late commit changes one of them).
   * Answered from a partial index (migration 0250) without reading the rows.
   */
  async pdqState(bank: string, upto: number): Promise<{ count: number; sum: number }> {
    const row = await this.db.get<{ n: number | string; s: number | string | null }>(
      "SELECT COUNT(*) AS n, SUM(id) AS s FROM moderation_signals WHERE bank = ? AND signal_type = 'pdq' AND removed_at IS NULL AND id <= ?",
      [bank, upto],
    );
    return { count: Number(row?.n ?? 0), sum: Number(row?.s ?? 0) };
  }

  /** Ids of a bank's tombstoned PDQ signals up to `upto`, in order, at most `limit` (migration 0760's index). */
  async pdqTombstones(bank: string, upto: number, limit: number): Promise<number[]> {
    // SQLite's planner (no statistics) prefers (bank, signal_type, id) and checks every live row: named
    const index = this.db.dialect === 'sqlite' ? ' INDEXED BY moderation_signals_dead_pdq' : '';
    const rows = await this.db.all<{ id: number }>(
      `SELECT id FROM moderation_signals${index} WHERE bank = ? AND signal_type = 'pdq' AND removed_at IS NOT NULL AND id <= ? ORDER BY id LIMIT ?`,
      [bank, upto, limit],
    );
    return rows.map((r) => Number(r.id));
  }

  /** The last id of a bank's PDQ signals, live or tombstoned, up to `upto` (0 for none): one index seek. */
  async lastPdqId(bank: string, upto: number): Promise<number> {
    const row = await this.db.get<{ m: number | string | null }>("SELECT MAX(id) AS m FROM moderation_signals WHERE bank = ? AND signal_type = 'pdq' AND id <= ?", [bank, upto]);
    return Number(row?.m ?? 0);
  }

  private async requireBank(bank: string): Promise<void> {
    if (!(await this.getBank(bank))) throw new TypeError(`no bank named "${bank}" (create it first)`);
  }
}

/**
 * Adds or updates (or, with removedAt, tombstones) one prepared signal inside the caller's transaction;
 * returns its id. For writers that must commit signals together with their own state (the hub's sync
 * commits a feed page and its cursor at once). The bank must exist.
 */
export async function writeSignal(tx: SqlRunner, bank: string, s: Required<SignalInput>): Promise<number> {
  const row = await tx.get<{ id: number }>(
    `INSERT INTO moderation_signals (bank, signal_type, value, value_key, labels, source, quality, added_at, removed_at, action, severity)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (bank, signal_type, value_key) DO UPDATE SET
       labels = excluded.labels, source = excluded.source, quality = COALESCE(excluded.quality, moderation_signals.quality),
       added_at = CASE WHEN moderation_signals.removed_at IS NULL THEN moderation_signals.added_at ELSE excluded.added_at END,
       removed_at = excluded.removed_at, action = excluded.action, severity = excluded.severity
     RETURNING id`,
    [bank, s.type, s.value, valueKey(s.value), s.labels.join(' '), s.source, s.quality, s.addedAt, s.removedAt, s.action, s.severity],
  );
  return Number(row!.id);
}

export interface WrittenSignal {
  id: number;
  /** new, or revived from a tombstone */
  fresh: boolean;
}

const UPSERT_COLUMNS = 11;
/** Rows per multi-row upsert: 11 parameters each stays far below SQLite's 32,766 and PostgreSQL's 65,535. */
const UPSERT_ROWS = 1000;
const UPSERT_SQL = (rows: number) =>
  `INSERT INTO moderation_signals (bank, signal_type, value, value_key, labels, source, quality, added_at, removed_at, action, severity)
   VALUES ${new Array(rows).fill(`(${new Array(UPSERT_COLUMNS).fill('?').join(', ')})`).join(', ')}
   ON CONFLICT (bank, signal_type, value_key) DO UPDATE SET
     labels = excluded.labels, source = excluded.source, quality = COALESCE(excluded.quality, moderation_signals.quality),
     added_at = CASE WHEN moderation_signals.removed_at IS NULL THEN moderation_signals.added_at ELSE excluded.added_at END,
     removed_at = excluded.removed_at, action = excluded.action, severity = excluded.severity
   RETURNING id, signal_type, value_key, added_at`;

/**
 * writeSignal for many signals, in order, inside the caller's transaction: multi-row upserts of up to
 * 1,000 rows (a statement per row made a bank sync of a million signals take minutes). One statement
 * cannot update a row twice (PostgreSQL refuses), so a repeated key starts a new statement and the later
 * write wins, as with one statement per signal. Returns, in input order, each signal's id and whether it
 * is new or revived (`fresh`, for queuing retro-sweeps), read from the written row without another query:
 * a live signal keeps its added time, a new or revived one takes the write's. An update of a live signal
 * whose added time equals the write's also reads as fresh: use it for work that is harmless to repeat.
 */
export async function writeSignals(tx: SqlRunner, bank: string, signals: ReadonlyArray<Required<SignalInput>>): Promise<WrittenSignal[]> {
  const ids: WrittenSignal[] = [];
  let chunk: Array<{ s: Required<SignalInput>; key: string }> = [];
  let inChunk = new Set<string>();
  const flush = async () => {
    if (!chunk.length) return;
    const params: SqlValue[] = [];
    for (const { s, key } of chunk) params.push(bank, s.type, s.value, key, s.labels.join(' '), s.source, s.quality, s.addedAt, s.removedAt, s.action, s.severity);
    // RETURNING's row order is unspecified: rows are matched back by their key
    const rows = await tx.all<{ id: number; signal_type: string; value_key: string; added_at: number }>(UPSERT_SQL(chunk.length), params);
    const byKey = new Map(rows.map((r) => [`${r.signal_type}\n${r.value_key}`, r]));
    for (const { s, key } of chunk) {
      const row = byKey.get(`${s.type}\n${key}`);
      if (row === undefined) throw new Error('a signal was not written');
      ids.push({ id: Number(row.id), fresh: Number(row.added_at) === s.addedAt });
    }
    chunk = [];
    inChunk = new Set();
  };
  for (const s of signals) {
    const key = valueKey(s.value);
    const k = `${s.type}\n${key}`;
    if (inChunk.has(k) || chunk.length === UPSERT_ROWS) await flush();
    chunk.push({ s, key });
    inChunk.add(k);
  }
  await flush();
  return ids;
}

/** Tombstones one signal (canonical value) inside the caller's transaction; its id, or undefined if absent or already removed. */
export async function tombstoneSignal(tx: SqlRunner, bank: string, type: SignalType, canonicalValue: string, now: number): Promise<number | undefined> {
  const row = await tx.get<{ id: number }>('UPDATE moderation_signals SET removed_at = ? WHERE bank = ? AND signal_type = ? AND value_key = ? AND removed_at IS NULL RETURNING id', [now, bank, type, valueKey(canonicalValue)]);
  return row ? Number(row.id) : undefined;
}

/** n concatenated 64-digit hex PDQ hashes → 8n big-endian words (PdqHash word order). */
export function packedHexToWords(hex: string, n: number): Uint32Array {
  const bytes = Buffer.from(hex, 'hex'); // stops at the first non-hex digit, so the length check catches bad values
  if (hex.length !== n * 64 || bytes.length !== n * 32) throw new TypeError(`a page of ${n} PDQ hashes is not ${n} × 64 hex digits`);
  const words = new Uint32Array(n * 8);
  for (let w = 0, b = 0; w < words.length; w++, b += 4) words[w] = ((bytes[b]! << 24) | (bytes[b + 1]! << 16) | (bytes[b + 2]! << 8) | bytes[b + 3]!) >>> 0;
  return words;
}

/** "12,13,40" → Uint32Array [12, 13, 40], exactly n ids, each below 2^32 (PdqIndex keys). */
export function decimalListToIds(list: string, n: number): Uint32Array {
  const ids = new Uint32Array(n);
  let k = 0;
  let v = 0;
  let digits = 0;
  for (let i = 0; i <= list.length; i++) {
    const c = i < list.length ? list.charCodeAt(i) : 44;
    if (c === 44) {
      if (!digits || k >= n || v > 0xffffffff) throw new TypeError('malformed id list from the store');
      ids[k++] = v;
      v = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      digits++;
    } else throw new TypeError('malformed id list from the store');
  }
  if (k !== n) throw new TypeError(`expected ${n} ids from the store, got ${k}`);
  return ids;
}
