/**
 * Signals of content that is (or may become) visible, kept for the retro-sweep: when a bank gains
 * signals, these are what it is checked against. Written when a check lets content through (or holds
 * it), replaced when the content is edited, forgotten when it is deleted or taken down.
 */
import type { Db, SqlRunner } from '@doublelock/store';
import type { Dihedral } from '../pdq.ts';
import type { Subject } from './actioner.ts';

export type ContentSignalType = 'pdq' | 'md5' | 'sha256' | 'url' | 'text' | 'vpdq';

export interface ContentSignal {
  item: string;
  type: ContentSignalType;
  value: string;
  quality?: number | null;
  variant?: Dihedral | null;
}

export interface StoredContentSignal extends ContentSignal {
  id: number;
  subject: Subject;
}

/** Types looked up by value (short values); text and vPDQ are read in pages instead. */
const KEYED = new Set<ContentSignalType>(['md5', 'sha256', 'url']);

interface Row {
  id: number;
  subject: string;
  item: string;
  signal_type: string;
  value: string;
  quality: number | null;
  variant: string | null;
}

const fromRow = (r: Row): StoredContentSignal => ({
  id: Number(r.id),
  subject: r.subject,
  item: r.item,
  type: r.signal_type as ContentSignalType,
  value: r.value,
  quality: r.quality === null ? null : Number(r.quality),
  variant: r.variant as Dihedral | null,
});

export class ContentSignalStore {
  constructor(private readonly db: Db) {}

  /** Replaces a subject's signals (an edit replaces them all). */
  async put(subject: Subject, signals: readonly ContentSignal[], now: number, tx?: SqlRunner): Promise<void> {
    const write = async (t: SqlRunner) => {
      await t.run('DELETE FROM moderation_content_signals WHERE subject = ?', [subject]);
      await this.add(subject, signals, now, t);
    };
    if (tx) await write(tx);
    else await this.db.transaction(write);
  }

  /** Stores the signals of a subject that has none yet (new content), in one statement per 50 rows. */
  async add(subject: Subject, signals: readonly ContentSignal[], now: number, tx: SqlRunner): Promise<void> {
    for (let i = 0; i < signals.length; i += 50) {
      const rows = signals.slice(i, i + 50);
      const params = rows.flatMap((s) => [subject, s.item, s.type, s.value, KEYED.has(s.type) ? s.value : null, s.quality ?? null, s.variant ?? null, now]);
      await tx.run(`INSERT INTO moderation_content_signals (subject, item, signal_type, value, value_key, quality, variant, created_at) VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`, params);
    }
  }

  async forget(subject: Subject): Promise<void> {
    await this.db.run('DELETE FROM moderation_content_signals WHERE subject = ?', [subject]);
  }

  async forSubject(subject: Subject): Promise<StoredContentSignal[]> {
    return (await this.db.all<Row>('SELECT id, subject, item, signal_type, value, quality, variant FROM moderation_content_signals WHERE subject = ? ORDER BY id', [subject])).map(fromRow);
  }

  /** Stored signals of one type whose value is one of these (exact hashes, canonical URLs). */
  async withValues(type: ContentSignalType, values: readonly string[]): Promise<StoredContentSignal[]> {
    const out: StoredContentSignal[] = [];
    for (let i = 0; i < values.length; i += 500) {
      const chunk = values.slice(i, i + 500);
      const rows = await this.db.all<Row>(
        `SELECT id, subject, item, signal_type, value, quality, variant FROM moderation_content_signals WHERE signal_type = ? AND value_key IN (${chunk.map(() => '?').join(', ')})`,
        [type, ...chunk],
      );
      out.push(...rows.map(fromRow));
    }
    return out;
  }

  /** One page of a type's signals after an id, in id order. */
  async page(type: ContentSignalType, afterId: number, limit: number): Promise<StoredContentSignal[]> {
    return (
      await this.db.all<Row>('SELECT id, subject, item, signal_type, value, quality, variant FROM moderation_content_signals WHERE signal_type = ? AND id > ? ORDER BY id LIMIT ?', [type, afterId, limit])
    ).map(fromRow);
  }

  /** PDQ hashes as packed pages (as bank loading does): 8 big-endian words per hash and the row ids. */
  async *pdqPages(afterId: number, pageSize = 100_000): AsyncGenerator<{ hex: string; ids: string; n: number; last: number }> {
    let after = afterId;
    for (;;) {
      const row = await this.db.get<{ n: number; last: number | null; hashes: string | null; ids: string | null }>(
        `SELECT COUNT(*) AS n, MAX(id) AS last, string_agg(value, '') AS hashes, string_agg(CAST(id AS TEXT), ',') AS ids
         FROM (SELECT id, value FROM moderation_content_signals WHERE signal_type = 'pdq' AND id > ? ORDER BY id LIMIT ?) page`,
        [after, pageSize],
      );
      const n = Number(row?.n ?? 0);
      if (!n || row?.hashes == null || row.ids == null || row.last == null) return;
      yield { hex: row.hashes, ids: row.ids, n, last: Number(row.last) };
      if (n < pageSize) return;
      after = Number(row.last);
    }
  }

  async count(type?: ContentSignalType): Promise<number> {
    const row = type
      ? await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM moderation_content_signals WHERE signal_type = ?', [type])
      : await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM moderation_content_signals');
    return Number(row?.n ?? 0);
  }

  async byIds(ids: readonly number[]): Promise<StoredContentSignal[]> {
    const out: StoredContentSignal[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = await this.db.all<Row>(`SELECT id, subject, item, signal_type, value, quality, variant FROM moderation_content_signals WHERE id IN (${chunk.map(() => '?').join(', ')})`, chunk);
      out.push(...rows.map(fromRow));
    }
    return out;
  }
}
