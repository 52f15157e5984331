/**
 * Bank interchange formats, compatible with Meta's ThreatExchange tooling and HMA:
 *
 *   csv   the `threatexchange dataset -P --csv` layout (python-threatexchange cli/dataset_cmd.py):
 *         header `signal_type,signal_str,collab,category,tags` (tags space-separated), to which we append
 *         `added_at,removed_at,quality` (ISO 8601; readers that use the header ignore extra columns).
 *   json  `{"bank", "exported_at", "signals": [{signal_type, signal_str, collab, category, tags[], added_at,
 *         removed_at, quality}]}`. On import we also accept a bare array, JSON Lines, HMA's add-signal
 *         bodies (`{"pdq": "<hash>", "note": …}`, HMA blueprints/curation.py bank_add_as_signals) and
 *         ThreatExchange threat_updates records (`{"indicator", "type": "HASH_PDQ", "tags", "should_delete"}`).
 *   txt   python-threatexchange's local file exchange (exchanges/impl/file_api.py): `signal_type signal`
 *         a line.
 * Type names are mapped (pdq, video_md5, HASH_PDQ, URI…); vPDQ values use HMA's JSON feature list.
 */
import { FormatError } from './errors.ts';
import { prepareSignal, type BankSignal, type SignalInput } from './bank.ts';
import { SIGNAL_TYPES, signalTypeFromForeign, type SignalType } from './signal.ts';
import { labelFromForeignTag } from './taxonomy.ts';

export const BANK_FORMATS = ['csv', 'json', 'txt'] as const;
export type BankFormat = (typeof BANK_FORMATS)[number];

export const CSV_HEADER = ['signal_type', 'signal_str', 'collab', 'category', 'tags', 'added_at', 'removed_at', 'quality', 'action', 'severity'];

export function formatFromPath(path: string): BankFormat {
  const ext = path.toLowerCase().split('.').pop() ?? '';
  if (ext === 'csv') return 'csv';
  if (ext === 'json' || ext === 'jsonl' || ext === 'ndjson') return 'json';
  if (ext === 'txt' || ext === 'te') return 'txt';
  throw new FormatError(`cannot tell the format of "${path}" from its extension: use .csv, .json, .jsonl or .txt (or give --format)`);
}

/** One parsed row: a signal ready to store, or why it could not be read. */
export type ImportRow = { line: number; signal: Required<SignalInput> } | { line: number; error: string };

const NEGATIVE_CATEGORIES = new Set(['negative_class', 'non_malicious', 'false_positive']);

function parseTime(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number') return value < 1e11 ? Math.round(value * 1000) : Math.round(value); // seconds or ms
  if (typeof value === 'string') {
    if (/^\d+(\.\d+)?$/.test(value)) return parseTime(Number(value), what);
    const t = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')); // TE writes +0000
    if (Number.isFinite(t)) return t;
  }
  throw new TypeError(`${what} is not a time: ${JSON.stringify(value)}`);
}

function tagsOf(value: unknown): string[] {
  if (value === undefined || value === null || value === '') return [];
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  throw new TypeError(`tags must be a list or a space-separated string, not ${JSON.stringify(value)}`);
}

/** Maps one foreign record (CSV row as object, or JSON object) to a signal. */
export function signalFromRecord(record: Record<string, unknown>, now = Date.now()): Required<SignalInput> {
  let typeName = record.signal_type ?? record.type;
  let value = record.signal_str ?? record.indicator ?? record.value ?? record.signal;
  if (typeName === undefined && value === undefined) {
    // HMA add-signal body: {"pdq": "<hash>", "note": "..."}
    const key = Object.keys(record).find((k) => signalTypeFromForeign(k));
    if (key) {
      typeName = key;
      value = record[key];
    }
  }
  if (typeof typeName !== 'string' || !typeName) throw new TypeError('no signal type (signal_type / type column)');
  const type = signalTypeFromForeign(typeName);
  if (!type) throw new TypeError(`signal type "${typeName}" is not one we match (${SIGNAL_TYPES.join(', ')})`);
  if (typeof value !== 'string' && !(type === 'vpdq' && Array.isArray(value))) throw new TypeError('no signal value (signal_str / indicator column)');
  const labels = tagsOf(record.tags ?? record.labels).map(labelFromForeignTag);
  const category = typeof record.category === 'string' ? record.category.toLowerCase() : '';
  if (NEGATIVE_CATEGORIES.has(category)) labels.push('review:false_positive');
  const removed = record.should_delete === true ? (parseTime(record.last_updated, 'last_updated') ?? now) : parseTime(record.removed_at, 'removed_at');
  const quality = record.quality === undefined || record.quality === null || record.quality === '' ? null : Number(record.quality);
  return prepareSignal({
    type,
    value: Array.isArray(value) ? JSON.stringify(value) : value,
    labels,
    source: String(record.collab ?? record.source ?? record.owner ?? ''),
    quality,
    addedAt: parseTime(record.added_at ?? record.added_on ?? record.creation_time, 'added_at') ?? now,
    removedAt: removed ?? null,
    action: optionalText(record.action) as SignalInput['action'],
    severity: optionalText(record.severity) as SignalInput['severity'],
  });
}

function optionalText(value: unknown): string | null {
  return value === undefined || value === null || value === '' ? null : String(value);
}

function rowResult(line: number, make: () => Required<SignalInput>): ImportRow {
  try {
    return { line, signal: make() };
  } catch (error) {
    return { line, error: error instanceof Error ? error.message : String(error) };
  }
}

/** RFC 4180 CSV records from a stream of text chunks (quoted fields may hold commas, quotes, newlines). */
export async function* csvRecords(chunks: AsyncIterable<string>): AsyncGenerator<{ line: number; fields: string[] }> {
  let field = '';
  let fields: string[] = [];
  let quoted = false;
  let afterQuote = false;
  let line = 1;
  let recordLine = 1;
  let pendingCr = false;
  for await (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (quoted) {
        if (c === '"') {
          // closing quote, or the first of a doubled "" (decided by the next character, maybe in the next chunk)
          quoted = false;
          afterQuote = true;
        } else {
          if (c === '\n') line++;
          field += c;
        }
        continue;
      }
      if (afterQuote && c === '"') {
        field += '"';
        quoted = true;
        afterQuote = false;
        continue;
      }
      afterQuote = false;
      if (pendingCr && c !== '\n') pendingCr = false;
      if (c === ',') {
        fields.push(field);
        field = '';
      } else if (c === '\n' || c === '\r') {
        if (c === '\n' && pendingCr) {
          pendingCr = false;
          continue;
        }
        pendingCr = c === '\r';
        fields.push(field);
        if (fields.length > 1 || fields[0] !== '') yield { line: recordLine, fields };
        fields = [];
        field = '';
        line++;
        recordLine = line;
      } else if (c === '"' && field === '') {
        quoted = true;
      } else {
        field += c;
      }
    }
  }
  if (quoted) throw new FormatError('unterminated quoted field', recordLine);
  if (field !== '' || fields.length) {
    fields.push(field);
    yield { line: recordLine, fields };
  }
}

/** Reads signals in one of the formats from text chunks (e.g. a file stream with setEncoding('utf8')). */
export async function* readBankSignals(chunks: AsyncIterable<string>, format: BankFormat, now = Date.now()): AsyncGenerator<ImportRow> {
  if (format === 'csv') {
    let header: string[] | undefined;
    for await (const { line, fields } of csvRecords(chunks)) {
      if (!header) {
        header = fields.map((f) => f.trim().toLowerCase());
        if (!header.includes('signal_type') || !header.includes('signal_str')) throw new FormatError('CSV header must name signal_type and signal_str columns', line);
        continue;
      }
      const h = header;
      yield rowResult(line, () => signalFromRecord(Object.fromEntries(h.map((name, i) => [name, fields[i] ?? ''])), now));
    }
    if (!header) throw new FormatError('empty CSV (no header)');
    return;
  }
  if (format === 'txt') {
    let buffer = '';
    let line = 0;
    const parse = (text: string): ImportRow | undefined => {
      line++;
      const t = text.trim();
      if (!t || t.startsWith('#')) return undefined;
      const space = t.indexOf(' ');
      if (space < 0) return { line, error: 'expected "signal_type signal"' };
      return rowResult(line, () => signalFromRecord({ signal_type: t.slice(0, space), signal_str: t.slice(space + 1).trim() }, now));
    };
    for await (const chunk of chunks) {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const l of lines) {
        const row = parse(l);
        if (row) yield row;
      }
    }
    const row = parse(buffer);
    if (row) yield row;
    return;
  }
  // JSON: a document (object with signals, or an array), or JSON Lines
  let text = '';
  for await (const chunk of chunks) text += chunk;
  const trimmed = text.trim();
  if (!trimmed) throw new FormatError('empty JSON');
  let records: Array<{ line: number; value: unknown }>;
  try {
    const doc: unknown = JSON.parse(trimmed);
    const list = Array.isArray(doc) ? doc : doc && typeof doc === 'object' && Array.isArray((doc as { signals?: unknown }).signals) ? (doc as { signals: unknown[] }).signals : [doc];
    records = list.map((value, i) => ({ line: i + 1, value }));
  } catch {
    records = [];
    for (const [i, l] of trimmed.split(/\r?\n/).entries()) {
      if (!l.trim()) continue;
      try {
        records.push({ line: i + 1, value: JSON.parse(l) });
      } catch {
        throw new FormatError('not JSON, nor JSON Lines', i + 1);
      }
    }
  }
  for (const { line, value } of records) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      yield { line, error: 'each signal must be a JSON object' };
      continue;
    }
    yield rowResult(line, () => signalFromRecord(value as Record<string, unknown>, now));
  }
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

const iso = (t: number | null) => (t === null ? '' : new Date(t).toISOString());

function exportRecord(s: BankSignal) {
  return {
    signal_type: s.type,
    signal_str: s.value,
    collab: s.source,
    category: s.labels.includes('review:false_positive') ? 'NEGATIVE_CLASS' : 'POSITIVE_CLASS',
    tags: s.labels,
    added_at: iso(s.addedAt),
    removed_at: s.removedAt === null ? null : iso(s.removedAt),
    quality: s.quality,
    action: s.action,
    severity: s.severity,
  };
}

/** Writes signals as text chunks in the given format (streams: a 10M-signal bank never sits in memory). */
export async function* writeBankSignals(bank: string, signals: AsyncIterable<BankSignal>, format: BankFormat, now = Date.now()): AsyncGenerator<string> {
  if (format === 'csv') {
    yield `${CSV_HEADER.join(',')}\n`;
    for await (const s of signals) {
      const r = exportRecord(s);
      yield `${[r.signal_type, r.signal_str, r.collab, r.category, r.tags.join(' '), r.added_at, r.removed_at ?? '', r.quality ?? '', r.action ?? '', r.severity ?? ''].map((v) => csvField(String(v))).join(',')}\n`;
    }
  } else if (format === 'txt') {
    for await (const s of signals) if (s.removedAt === null) yield `${s.type} ${s.value}\n`;
  } else {
    yield `{"bank":${JSON.stringify(bank)},"exported_at":${JSON.stringify(iso(now))},"signals":[`;
    let first = true;
    for await (const s of signals) {
      yield `${first ? '\n' : ',\n'}${JSON.stringify(exportRecord(s))}`;
      first = false;
    }
    yield '\n]}\n';
  }
}

export type { SignalType };
