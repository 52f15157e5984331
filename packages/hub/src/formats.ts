/**
 * The hub's import and export formats: ThreatExchange / HMA CSV and JSON (moderation's bankFormats,
 * the same files `doublelock bank import|export` read and write), and Tech Against Terrorism's hash
 * list fields: hash_digest, algorithm, ideology, file_type, deleted, created_on, updated_on.
 * TAT's ideology and file type have no place in the GIFCT taxonomy, so they travel as the labels
 * `custom:ideology_<name>` and `custom:file_type_<name>` and come back out as those fields.
 */
import { labelFromForeignTag, readBankSignals, writeBankSignals, type BankSignal } from '@doublelock/moderation';
import type { HubSignalType } from '@doublelock/protocol';
import type { HubSignal, SignalInput, SignalRef } from './hub.ts';

export type HubFormat = 'csv' | 'json' | 'tat';

const TAT_ALGORITHMS: Record<string, HubSignalType> = { md5: 'md5', sha256: 'sha256', 'sha-256': 'sha256', pdq: 'pdq', vpdq: 'vpdq' };
const TAT_NAMES: Partial<Record<HubSignalType, string>> = { md5: 'MD5', sha256: 'SHA256', pdq: 'PDQ', vpdq: 'VPDQ' };
const DEFAULT_FILE_TYPE: Partial<Record<HubSignalType, string>> = { pdq: 'image', vpdq: 'video' };

export interface ParsedImport {
  submit: SignalInput[];
  withdraw: SignalRef[];
  errors: Array<{ line: number; error: string }>;
}

async function* once(text: string): AsyncGenerator<string> {
  yield text;
}

const slug = (v: string) => v.trim().toLowerCase().replace(/[^a-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '');

/** Reads an import body into signals to submit and to withdraw (rows marked deleted), with bad rows listed. */
export async function parseImport(text: string, format: HubFormat, bank: string): Promise<ParsedImport> {
  const out: ParsedImport = { submit: [], withdraw: [], errors: [] };
  if (format === 'tat') {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      out.errors.push({ line: 0, error: 'a TAT hash list is a JSON array of records (or {"hashes": [...]})' });
      return out;
    }
    const list = Array.isArray(doc) ? doc : doc && typeof doc === 'object' && Array.isArray((doc as { hashes?: unknown }).hashes) ? (doc as { hashes: unknown[] }).hashes : undefined;
    if (!list) {
      out.errors.push({ line: 0, error: 'a TAT hash list is a JSON array of records (or {"hashes": [...]})' });
      return out;
    }
    list.forEach((r, i) => {
      const rec = (r ?? {}) as Record<string, unknown>;
      const type = TAT_ALGORITHMS[String(rec.algorithm ?? '').toLowerCase()];
      if (!type) return out.errors.push({ line: i + 1, error: `algorithm "${String(rec.algorithm)}" is not one of MD5, SHA256, PDQ, VPDQ` });
      if (typeof rec.hash_digest !== 'string' || !rec.hash_digest) return out.errors.push({ line: i + 1, error: 'no hash_digest' });
      if (rec.deleted === true || rec.deleted === 'true' || rec.deleted === 1) return out.withdraw.push({ bank, type, value: rec.hash_digest });
      const labels: string[] = [];
      if (typeof rec.ideology === 'string' && slug(rec.ideology)) labels.push(`custom:ideology_${slug(rec.ideology)}`);
      if (typeof rec.file_type === 'string' && slug(rec.file_type)) labels.push(`custom:file_type_${slug(rec.file_type)}`);
      if (Array.isArray(rec.labels)) labels.push(...rec.labels.map((l) => labelFromForeignTag(String(l))));
      return out.submit.push({ bank, type, value: rec.hash_digest, labels });
    });
    return out;
  }
  for await (const row of readBankSignals(once(text), format)) {
    if ('error' in row) {
      out.errors.push(row);
      continue;
    }
    const s = row.signal;
    if (s.removedAt !== null) out.withdraw.push({ bank, type: s.type, value: s.value });
    else out.submit.push({ bank, type: s.type, value: s.value, labels: s.labels, ...(s.quality !== null && { quality: s.quality }) });
  }
  return out;
}

function asBankSignal(s: HubSignal): BankSignal {
  return {
    id: s.id,
    bank: s.bank,
    type: s.type,
    value: s.value,
    labels: s.disputed ? [...s.labels, 'review:disputed'].sort() : s.labels,
    source: s.member,
    quality: s.quality,
    addedAt: s.createdAt,
    removedAt: s.withdrawnAt,
    action: null,
    severity: null,
  };
}

async function* mapped(signals: AsyncIterable<HubSignal>): AsyncGenerator<BankSignal> {
  for await (const s of signals) yield asBankSignal(s);
}

const iso = (t: number) => new Date(t).toISOString();

/** One TAT record; signal types TAT does not list (URLs, text rules) have none. */
export function tatRecord(s: HubSignal): Record<string, unknown> | undefined {
  const algorithm = TAT_NAMES[s.type];
  if (!algorithm) return undefined;
  const ideology = s.labels.find((l) => l.startsWith('custom:ideology_'))?.slice('custom:ideology_'.length) ?? null;
  const fileType = s.labels.find((l) => l.startsWith('custom:file_type_'))?.slice('custom:file_type_'.length) ?? DEFAULT_FILE_TYPE[s.type] ?? null;
  return {
    hash_digest: s.value,
    algorithm,
    ideology,
    file_type: fileType,
    deleted: s.withdrawnAt !== null,
    created_on: iso(s.createdAt),
    updated_on: iso(s.updatedAt),
    labels: s.labels.filter((l) => !l.startsWith('custom:ideology_') && !l.startsWith('custom:file_type_')),
    disputed: s.disputed,
  };
}

/** Streams an export in the given format. */
export async function* writeExport(signals: AsyncIterable<HubSignal>, format: HubFormat, bank: string): AsyncGenerator<string> {
  if (format !== 'tat') {
    yield* writeBankSignals(bank, mapped(signals), format);
    return;
  }
  yield '[';
  let first = true;
  for await (const s of signals) {
    const r = tatRecord(s);
    if (!r) continue;
    yield `${first ? '\n' : ',\n'}${JSON.stringify(r)}`;
    first = false;
  }
  yield '\n]\n';
}
