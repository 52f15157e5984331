/**
 * The hub: signals shared by members, their opinions, incidents — all written first as entries of the
 * hub's own RFC 9162 transparency log (packages/log, in the hub's database), then applied to the
 * hub_* tables (a projection that remembers how far it got, `hub_state.applied`). A member that reads
 * the feed reads the log itself, so it can prove that nothing it was shown was altered or removed.
 *
 * Writes are serialised in this process (one hub process writes; PostgreSQL is for durability and size):
 * each checks the request against the current state, appends its entries, then applies them.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { generateSignerKey, TransparencyLog } from '@doublelock/log';
import { checkLabel, normaliseSignalValue } from '@doublelock/moderation';
import { DomainError, ErrorCode, MAX_FEED_PAGE, toBase64Url, type HubEntry, type HubScope, type HubSignalType, type HubWriteResponse } from '@doublelock/protocol';
import { migrate, serverSecret, type Db, type SqlRunner } from '@doublelock/store';
import { fileURLToPath } from 'node:url';
import { decodeEntry, encodeEntry } from './entry.ts';
import { MemberStore, type Caller } from './members.ts';
import { sendWebhooks, type WebhookResult } from './webhooks.ts';

export const HUB_MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

/** Labels only the hub sets: members disagreeing is the hub's aggregate, not a member's claim. */
export const DISPUTED = 'review:disputed';
const HUB_ONLY_LABELS = new Set([DISPUTED]);
const APPLY_PAGE = 5000;

export interface HubOptions {
  /** The log's origin and key name (C2SP checkpoint first line), e.g. `hub.example.org/log`. */
  origin?: string;
  /** Members giving a negative opinion or false-positive feedback needed to mark a signal disputed. */
  disputeThreshold?: number;
  now?: () => number;
  webhookTimeoutMs?: number;
}

export interface SignalInput {
  bank: string;
  type: HubSignalType;
  value: string;
  labels?: readonly string[];
  quality?: number | undefined;
  incident?: number | undefined;
  member?: string | undefined;
}

export interface SignalRef {
  bank: string;
  type: HubSignalType;
  value: string;
}

export interface HubSignal {
  id: number;
  bank: string;
  type: HubSignalType;
  value: string;
  labels: string[];
  quality: number | null;
  member: string;
  incident: number | null;
  createdAt: number;
  updatedAt: number;
  withdrawnAt: number | null;
  disputed: boolean;
  logIndex: number;
}

export interface Incident {
  id: number;
  name: string;
  label: string;
  declaredAt: number;
  closedAt: number | null;
  logIndex: number;
}

interface SignalRow {
  id: number;
  bank: string;
  signal_type: string;
  value: string;
  value_key: string;
  labels: string;
  quality: number | null;
  member: string;
  incident: number | null;
  created_at: number;
  updated_at: number;
  withdrawn_at: number | null;
  disputed: number;
  log_index: number;
}

const signalFromRow = (r: SignalRow): HubSignal => ({
  id: Number(r.id),
  bank: r.bank,
  type: r.signal_type as HubSignalType,
  value: r.value,
  labels: r.labels ? r.labels.split(' ') : [],
  quality: r.quality === null ? null : Number(r.quality),
  member: r.member,
  incident: r.incident === null ? null : Number(r.incident),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  withdrawnAt: r.withdrawn_at === null ? null : Number(r.withdrawn_at),
  disputed: Number(r.disputed) === 1,
  logIndex: Number(r.log_index),
});

export const valueKey = (value: string): string => bytesToHex(sha256(new TextEncoder().encode(value)));
const keyOf = (bank: string, type: string, value: string) => `${bank}\n${type}\n${value}`;
const bad = (message: string): never => {
  throw new DomainError(ErrorCode.validation, message);
};

export class Hub {
  readonly members: MemberStore;
  readonly disputeThreshold: number;
  readonly now: () => number;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly db: Db,
    readonly log: TransparencyLog,
    private readonly options: HubOptions,
  ) {
    this.members = new MemberStore(db);
    this.disputeThreshold = options.disputeThreshold ?? 2;
    this.now = options.now ?? Date.now;
  }

  /** Opens the hub on a database: the store's migrations (the log's tables) and the hub's own. */
  static async open(db: Db, options: HubOptions = {}): Promise<Hub> {
    await migrate(db);
    await migrate(db, HUB_MIGRATIONS_DIR);
    const origin = options.origin ?? 'hub.doublelock.localhost/log';
    const signerKey = new TextDecoder().decode(await serverSecret(db, `hub-log-signer-key:${origin}`, () => new TextEncoder().encode(generateSignerKey(origin))));
    const log = await TransparencyLog.open(db, { signerKey });
    await db.run("INSERT INTO hub_state (name, value) VALUES ('applied', 0) ON CONFLICT (name) DO NOTHING");
    const hub = new Hub(db, log, options);
    await hub.catchUp();
    return hub;
  }

  get logKey(): string {
    return this.log.verifierKey;
  }

  /** Runs writes one at a time, in order. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Appends entries to the log, then applies them; resolves with the first entry's index. */
  async #append(entries: HubEntry[]): Promise<number> {
    if (!entries.length) return -1;
    const { firstIndex } = await this.log.append(entries.map(encodeEntry));
    await this.catchUp();
    return firstIndex;
  }

  /** Applies log entries the tables have not seen yet (after a crash, or written by another process). */
  async catchUp(): Promise<number> {
    const size = (await this.log.checkpoint()).size;
    for (;;) {
      const applied = Number((await this.db.get<{ value: number }>("SELECT value FROM hub_state WHERE name = 'applied'"))!.value);
      if (applied >= size) return size;
      const end = Math.min(size, applied + APPLY_PAGE);
      const entries = await this.log.entries(applied, end);
      await this.db.transaction(async (tx) => {
        // compare-and-set: whoever applies a range first applies it once
        const { changes } = await tx.run("UPDATE hub_state SET value = ? WHERE name = 'applied' AND value = ?", [end, applied]);
        if (!changes) return;
        for (let i = 0; i < entries.length; i++) await applyEntry(tx, applied + i, decodeEntry(entries[i]!));
      });
    }
  }

  async #openIncidents(): Promise<Map<number, Incident>> {
    return new Map((await this.incidents()).filter((i) => i.closedAt === null).map((i) => [i.id, i]));
  }

  #prepare(where: string, input: SignalInput, caller: Caller, incidents: ReadonlyMap<number, Incident>): { bank: string; type: HubSignalType; value: string; labels: string[]; quality: number | null; incident: number | null } {
    if (input.member !== undefined && input.member !== caller.member) throw new DomainError(ErrorCode.forbidden, `${where}: a key of member "${caller.member}" cannot submit as "${input.member}"`);
    const value = this.#value(where, input);
    const labels = this.#labels(where, input.labels ?? []);
    let incident: number | null = null;
    if (input.incident !== undefined) {
      const open = incidents.get(input.incident);
      if (!open) bad(`${where}.incident: there is no open incident ${input.incident}`);
      incident = input.incident;
      for (const l of [open!.label, 'basis:incident']) if (!labels.includes(l)) labels.push(l);
      labels.sort();
    }
    return { bank: input.bank, type: input.type, value, labels, quality: input.quality ?? null, incident };
  }

  #value(where: string, ref: SignalRef): string {
    try {
      return normaliseSignalValue(ref.type, ref.value);
    } catch (error) {
      return bad(`${where}.value: not a valid ${ref.type} signal: ${(error as Error).message}`);
    }
  }

  #labels(where: string, labels: readonly string[]): string[] {
    const out = new Set<string>();
    for (const l of labels) {
      let label: string;
      try {
        label = checkLabel(l);
      } catch (error) {
        return bad(`${where}.labels: ${(error as Error).message}`);
      }
      if (HUB_ONLY_LABELS.has(label)) bad(`${where}.labels: "${label}" is set by the hub when members disagree, not by a member`);
      out.add(label);
    }
    return [...out].sort();
  }

  /** Current rows of the given signals (canonical values), by key. */
  async #current(refs: ReadonlyArray<{ bank: string; type: string; value: string }>, tx: SqlRunner = this.db): Promise<Map<string, HubSignal>> {
    const out = new Map<string, HubSignal>();
    const groups = new Map<string, { bank: string; type: string; keys: Set<string> }>();
    for (const r of refs) {
      const g = groups.get(`${r.bank}\n${r.type}`) ?? { bank: r.bank, type: r.type, keys: new Set<string>() };
      g.keys.add(valueKey(r.value));
      groups.set(`${r.bank}\n${r.type}`, g);
    }
    for (const { bank, type, keys } of groups.values()) {
      const list = [...keys];
      for (let i = 0; i < list.length; i += 500) {
        const chunk = list.slice(i, i + 500);
        // (bank, signal_type, value_key) is the unique index: every lookup is an index probe
        const rows = await tx.all<SignalRow>(`SELECT * FROM hub_signals WHERE bank = ? AND signal_type = ? AND value_key IN (${chunk.map(() => '?').join(', ')})`, [bank, type, ...chunk]);
        for (const r of rows) out.set(keyOf(r.bank, r.signal_type, r.value), signalFromRow(r));
      }
    }
    return out;
  }

  /**
   * Submits signals: new ones (or withdrawn ones again) are added with the caller as provenance; the
   * caller's own live ones are updated when their labels or quality changed; another member's live
   * signal is endorsed (a positive opinion). Any bad row refuses the whole batch, before anything is written.
   */
  submit(caller: Caller, inputs: readonly SignalInput[]): Promise<HubWriteResponse> {
    requireScope(caller, 'submit');
    return this.#serial(async () => {
      const incidents = await this.#openIncidents();
      const prepared = inputs.map((input, i) => this.#prepare(`signals[${i}]`, input, caller, incidents));
      const state = await this.#current(prepared);
      // the caller's endorsements of other members' signals in this batch (the primary key's probe per id)
      const others = [...state.values()].filter((s) => s.member !== caller.member && s.withdrawnAt === null).map((s) => s.id);
      const opinions = new Set<number>();
      for (let i = 0; i < others.length; i += 500) {
        const chunk = others.slice(i, i + 500);
        const rows = await this.db.all<{ signal_id: number }>(`SELECT signal_id FROM hub_opinions WHERE signal_id IN (${chunk.map(() => '?').join(', ')}) AND member = ? AND opinion = 'positive'`, [...chunk, caller.member]);
        for (const r of rows) opinions.add(Number(r.signal_id));
      }
      const at = this.now();
      const entries: HubEntry[] = [];
      const results: Array<{ status: HubWriteResponse['results'][number]['status']; entry: number | null }> = [];
      for (const p of prepared) {
        const key = keyOf(p.bank, p.type, p.value);
        const cur = state.get(key);
        let entry: HubEntry | undefined;
        let status: HubWriteResponse['results'][number]['status'];
        if (!cur || cur.withdrawnAt !== null) {
          entry = { op: 'signal', at, by: caller.member, bank: p.bank, type: p.type, value: p.value, member: caller.member, labels: p.labels, quality: p.quality, incident: p.incident, disputed: cur?.disputed ?? false };
          status = 'added';
        } else if (cur.member === caller.member) {
          const labels = p.incident === null && cur.incident !== null ? [...new Set([...p.labels, ...cur.labels.filter((l) => l.startsWith('incident:') || l === 'basis:incident')])].sort() : p.labels;
          if (labels.join(' ') === cur.labels.join(' ') && (p.quality ?? cur.quality) === cur.quality && (p.incident ?? cur.incident) === cur.incident) status = 'unchanged';
          else {
            entry = { op: 'signal', at, by: caller.member, bank: p.bank, type: p.type, value: p.value, member: cur.member, labels, quality: p.quality ?? cur.quality, incident: p.incident ?? cur.incident, disputed: cur.disputed };
            status = 'updated';
          }
        } else if (opinions.has(cur.id)) status = 'unchanged';
        else {
          entry = { op: 'opinion', at, by: caller.member, bank: p.bank, type: p.type, value: p.value, opinion: 'positive', feedback: 'true_positive' };
          opinions.add(cur.id);
          status = 'recorded';
        }
        if (entry) {
          entries.push(entry);
          if (entry.op === 'signal') state.set(key, { ...(cur ?? ({} as HubSignal)), bank: p.bank, type: p.type, value: p.value, member: entry.member, labels: entry.labels, quality: entry.quality, incident: entry.incident, withdrawnAt: null, disputed: entry.disputed });
        }
        results.push({ status, entry: entry ? entries.length - 1 : null });
      }
      const first = await this.#append(entries);
      const size = this.log.size;
      this.#alertIncidentSignals(entries, incidents, size);
      return { results: results.map((r) => ({ status: r.status, logIndex: r.entry === null ? null : first + r.entry })), size };
    });
  }

  /**
   * Signals shared under an open incident are alerted to every member's webhook at once (members sync
   * when alerted, not at their next interval). Not awaited: a member's slow endpoint must not hold the
   * submitter; sendWebhooks never throws.
   */
  #alertIncidentSignals(entries: readonly HubEntry[], incidents: ReadonlyMap<number, Incident>, size: number): void {
    const counts = new Map<number, number>();
    for (const e of entries) if (e.op === 'signal' && e.incident !== null && incidents.has(e.incident)) counts.set(e.incident, (counts.get(e.incident) ?? 0) + 1);
    if (!counts.size) return;
    void (async () => {
      const targets = await this.members.webhooks();
      for (const [id, n] of counts) {
        const { name, label } = incidents.get(id)!;
        await sendWebhooks(targets, { type: 'incident.signals', incident: { id, name, label }, signals: n, size }, this.options.webhookTimeoutMs);
      }
    })().catch(() => undefined);
  }

  /** Withdraws signals the caller submitted (an admin may withdraw any). */
  withdraw(caller: Caller, refs: readonly SignalRef[]): Promise<HubWriteResponse> {
    requireScope(caller, 'submit');
    return this.#serial(async () => {
      const canonical = refs.map((r, i) => ({ bank: r.bank, type: r.type, value: this.#value(`signals[${i}]`, r) }));
      const state = await this.#current(canonical);
      const at = this.now();
      const entries: HubEntry[] = [];
      const results: Array<{ status: 'withdrawn' | 'unchanged'; entry: number | null }> = [];
      const done = new Set<string>();
      canonical.forEach((r, i) => {
        const key = keyOf(r.bank, r.type, r.value);
        const cur = state.get(key);
        if (!cur) throw new DomainError(ErrorCode.notFound, `signals[${i}]: bank "${r.bank}" has no such ${r.type} signal`);
        if (cur.member !== caller.member && !caller.scopes.includes('admin')) throw new DomainError(ErrorCode.forbidden, `signals[${i}]: submitted by "${cur.member}"; only it (or the hub's operator) may withdraw it`);
        if (cur.withdrawnAt !== null || done.has(key)) return results.push({ status: 'unchanged', entry: null });
        done.add(key);
        entries.push({ op: 'withdraw', at, by: caller.member, bank: r.bank, type: r.type, value: r.value });
        results.push({ status: 'withdrawn', entry: entries.length - 1 });
      });
      const first = await this.#append(entries);
      return { results: results.map((r) => ({ status: r.status, logIndex: r.entry === null ? null : first + r.entry })), size: this.log.size };
    });
  }

  /** Replaces the labels of a live signal the caller submitted (an admin may relabel any). */
  relabel(caller: Caller, ref: SignalRef, labels: readonly string[]): Promise<HubWriteResponse> {
    requireScope(caller, 'submit');
    return this.#serial(async () => {
      const value = this.#value('signal', ref);
      const next = this.#labels('signal', labels);
      const cur = (await this.#current([{ ...ref, value }])).get(keyOf(ref.bank, ref.type, value));
      if (!cur || cur.withdrawnAt !== null) throw new DomainError(ErrorCode.notFound, `bank "${ref.bank}" has no live ${ref.type} signal ${value.slice(0, 80)}`);
      if (cur.member !== caller.member && !caller.scopes.includes('admin')) throw new DomainError(ErrorCode.forbidden, `submitted by "${cur.member}"; only it (or the hub's operator) may change its labels`);
      if (next.join(' ') === cur.labels.join(' ')) return { results: [{ status: 'unchanged', logIndex: null }], size: this.log.size };
      const first = await this.#append([{ op: 'signal', at: this.now(), by: caller.member, bank: cur.bank, type: cur.type, value: cur.value, member: cur.member, labels: next, quality: cur.quality, incident: cur.incident, disputed: cur.disputed }]);
      return { results: [{ status: 'updated', logIndex: first }], size: this.log.size };
    });
  }

  /**
   * A member's opinion (positive, negative, investigation seed) and/or feedback (seen, true positive,
   * false positive) on a signal. When members disagree — `disputeThreshold` members say negative or
   * false positive against the submitter's positive — the hub marks the signal disputed (an update in
   * the feed), and platforms hold its matches for review instead of blocking; and back when they no longer do.
   */
  opine(caller: Caller, ref: SignalRef, opinion: { opinion?: 'positive' | 'negative' | 'investigation_seed' | undefined; feedback?: 'seen' | 'true_positive' | 'false_positive' | undefined }): Promise<HubWriteResponse> {
    requireScope(caller, 'read');
    return this.#serial(async () => {
      const value = this.#value('signal', ref);
      const cur = (await this.#current([{ ...ref, value }])).get(keyOf(ref.bank, ref.type, value));
      if (!cur) throw new DomainError(ErrorCode.notFound, `bank "${ref.bank}" has no ${ref.type} signal ${value.slice(0, 80)}`);
      const at = this.now();
      const first = await this.#append([{ op: 'opinion', at, by: caller.member, bank: cur.bank, type: cur.type, value: cur.value, opinion: opinion.opinion ?? null, feedback: opinion.feedback ?? null }]);
      const row = await this.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM hub_opinions WHERE signal_id = ? AND (opinion = 'negative' OR feedback = 'false_positive')", [cur.id]);
      const disputed = Number(row?.n ?? 0) >= this.disputeThreshold;
      if (disputed !== cur.disputed && cur.withdrawnAt === null) {
        await this.#append([{ op: 'signal', at, by: 'hub', bank: cur.bank, type: cur.type, value: cur.value, member: cur.member, labels: cur.labels, quality: cur.quality, incident: cur.incident, disputed }]);
      }
      return { results: [{ status: 'recorded', logIndex: first }], size: this.log.size };
    });
  }

  /** The crisis protocol: declares an incident, logs it, and alerts every member's webhook. */
  async declareIncident(by: string, name: string, label: 'incident:cip' | 'incident:cir' = 'incident:cip'): Promise<{ incident: Incident; alerts: WebhookResult[] }> {
    checkLabel(label);
    const incident = await this.#serial(async () => {
      const id = Number((await this.db.get<{ m: number | null }>('SELECT MAX(id) AS m FROM hub_incidents'))?.m ?? 0) + 1;
      await this.#append([{ op: 'incident', at: this.now(), by, id, name, label, open: true }]);
      return (await this.incident(id))!;
    });
    const alerts = await sendWebhooks(await this.members.webhooks(), { type: 'incident.declared', incident }, this.options.webhookTimeoutMs);
    return { incident, alerts };
  }

  async closeIncident(by: string, id: number): Promise<{ incident: Incident; alerts: WebhookResult[] }> {
    const incident = await this.#serial(async () => {
      const cur = await this.incident(id);
      if (!cur) throw new DomainError(ErrorCode.notFound, `no incident ${id}`);
      if (cur.closedAt !== null) return cur;
      await this.#append([{ op: 'incident', at: this.now(), by, id, name: cur.name, label: cur.label, open: false }]);
      return (await this.incident(id))!;
    });
    const alerts = await sendWebhooks(await this.members.webhooks(), { type: 'incident.closed', incident }, this.options.webhookTimeoutMs);
    return { incident, alerts };
  }

  /** Logs a member joining or leaving (the operator's doing), so members see who is in. */
  memberEvent(member: string, active: boolean): Promise<number> {
    return this.#serial(() => this.#append([{ op: 'member', at: this.now(), by: 'operator', member, active }]));
  }

  async incident(id: number): Promise<Incident | undefined> {
    return (await this.incidents()).find((i) => i.id === id);
  }

  async incidents(): Promise<Incident[]> {
    const rows = await this.db.all<{ id: number; name: string; label: string; declared_at: number; closed_at: number | null; log_index: number }>('SELECT * FROM hub_incidents ORDER BY id');
    return rows.map((r) => ({ id: Number(r.id), name: r.name, label: r.label, declaredAt: Number(r.declared_at), closedAt: r.closed_at === null ? null : Number(r.closed_at), logIndex: Number(r.log_index) }));
  }

  async signal(ref: SignalRef): Promise<(HubSignal & { opinions: Array<{ member: string; opinion: string | null; feedback: string | null; at: number }> }) | undefined> {
    const value = this.#value('signal', ref);
    const cur = (await this.#current([{ ...ref, value }])).get(keyOf(ref.bank, ref.type, value));
    if (!cur) return undefined;
    const opinions = await this.db.all<{ member: string; opinion: string | null; feedback: string | null; at: number }>('SELECT member, opinion, feedback, at FROM hub_opinions WHERE signal_id = ? ORDER BY member', [cur.id]);
    return { ...cur, opinions: opinions.map((o) => ({ ...o, at: Number(o.at) })) };
  }

  /** Signals in id order, live ones unless asked for withdrawn too; one bank or all. */
  async *signals(options: { bank?: string | undefined; withdrawn?: boolean } = {}): AsyncGenerator<HubSignal> {
    let after = 0;
    for (;;) {
      const rows = await this.db.all<SignalRow>(
        `SELECT * FROM hub_signals WHERE id > ?${options.bank ? ' AND bank = ?' : ''}${options.withdrawn ? '' : ' AND withdrawn_at IS NULL'} ORDER BY id LIMIT 5000`,
        options.bank ? [after, options.bank] : [after],
      );
      for (const r of rows) yield signalFromRow(r);
      if (rows.length < 5000) return;
      after = Number(rows[rows.length - 1]!.id);
    }
  }

  /**
   * A page of the feed: log entries after `after`, at most `limit`, with the signed checkpoint and the
   * consistency proof from the end of the page to it, so the reader verifies the page before using it.
   */
  async feed(after: number, limit: number): Promise<{ checkpoint: string; size: number; after: number; entries: string[]; proof: string[] }> {
    const page = await this.feedLeaves(after, limit);
    const decoder = new TextDecoder();
    return { ...page, entries: page.entries.map((e) => decoder.decode(e)) };
  }

  /** A feed page with the entries as the log's leaf bytes (the NDJSON feed sends them as they are). */
  async feedLeaves(after: number, limit: number): Promise<{ checkpoint: string; size: number; after: number; entries: Uint8Array[]; proof: string[] }> {
    const checkpoint = await this.log.checkpoint();
    const size = checkpoint.size;
    if (after > size) throw new DomainError(ErrorCode.badRequest, `after=${after} is beyond the feed's end (${size}); a cursor never moves past the log's size`);
    const end = Math.min(size, after + Math.min(limit, MAX_FEED_PAGE));
    const entries = end > after ? await this.log.entries(after, end) : [];
    const proof = end > 0 && end < size ? (await this.log.consistencyProof(end, size)).map(toBase64Url) : [];
    return { checkpoint: checkpoint.note, size, after, entries, proof };
  }
}

export function requireScope(caller: Caller, scope: HubScope): void {
  if (!caller.scopes.includes(scope) && !caller.scopes.includes('admin')) throw new DomainError(ErrorCode.forbidden, `this key lacks the "${scope}" scope`);
}

/** The projection: one log entry applied to the hub's tables. */
async function applyEntry(tx: SqlRunner, index: number, e: HubEntry): Promise<void> {
  switch (e.op) {
    case 'signal':
      await tx.run(
        `INSERT INTO hub_signals (bank, signal_type, value, value_key, labels, quality, member, incident, created_at, updated_at, withdrawn_at, disputed, log_index)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)
         ON CONFLICT (bank, signal_type, value_key) DO UPDATE SET labels = excluded.labels, quality = excluded.quality, member = excluded.member,
           incident = excluded.incident, updated_at = excluded.updated_at, disputed = excluded.disputed, log_index = excluded.log_index,
           created_at = CASE WHEN hub_signals.withdrawn_at IS NULL THEN hub_signals.created_at ELSE excluded.created_at END, withdrawn_at = NULL`,
        [e.bank, e.type, e.value, valueKey(e.value), e.labels.join(' '), e.quality, e.member, e.incident, e.at, e.at, e.disputed ? 1 : 0, index],
      );
      return;
    case 'withdraw':
      await tx.run('UPDATE hub_signals SET withdrawn_at = ?, updated_at = ?, log_index = ? WHERE bank = ? AND signal_type = ? AND value_key = ?', [e.at, e.at, index, e.bank, e.type, valueKey(e.value)]);
      return;
    case 'opinion': {
      const s = await tx.get<{ id: number }>('SELECT id FROM hub_signals WHERE bank = ? AND signal_type = ? AND value_key = ?', [e.bank, e.type, valueKey(e.value)]);
      if (!s) return;
      await tx.run(
        `INSERT INTO hub_opinions (signal_id, member, opinion, feedback, at, log_index) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (signal_id, member) DO UPDATE SET opinion = COALESCE(excluded.opinion, hub_opinions.opinion), feedback = COALESCE(excluded.feedback, hub_opinions.feedback), at = excluded.at, log_index = excluded.log_index`,
        [s.id, e.by, e.opinion, e.feedback, e.at, index],
      );
      return;
    }
    case 'incident':
      if (e.open) await tx.run('INSERT INTO hub_incidents (id, name, label, declared_at, closed_at, log_index) VALUES (?, ?, ?, ?, NULL, ?) ON CONFLICT (id) DO NOTHING', [e.id, e.name, e.label, e.at, index]);
      else await tx.run('UPDATE hub_incidents SET closed_at = ? WHERE id = ?', [e.at, e.id]);
      return;
    case 'member':
      return; // membership itself is the operator's table; the entry makes it public
  }
}
