/** Decisions in the store (moderation_decisions): written once, read by every later stage. */
import type { Db, SqlRunner } from '@doublelock/store';
import type { Subject } from './actioner.ts';
import type { Decision } from './decision.ts';

interface Row {
  id: number;
  subject: string;
  uploader: string | null;
  stage: string;
  verdict: string;
  reasons: string;
  matches: string;
  labels: string;
  content_types: string;
  automated_detection: number;
  automated_decision: number;
  content_created_at: number;
  created_at: number;
  sweep_id: number | null;
}

const fromRow = (r: Row): Decision => ({
  id: Number(r.id),
  subject: r.subject,
  uploader: r.uploader,
  stage: r.stage as Decision['stage'],
  verdict: r.verdict as Decision['verdict'],
  reasons: JSON.parse(r.reasons) as Decision['reasons'],
  matches: JSON.parse(r.matches) as Decision['matches'],
  labels: r.labels ? r.labels.split(' ') : [],
  contentTypes: r.content_types ? (r.content_types.split(' ') as Decision['contentTypes']) : [],
  automatedDetection: Number(r.automated_detection) === 1,
  automatedDecision: Number(r.automated_decision) === 1,
  contentCreatedAt: Number(r.content_created_at),
  createdAt: Number(r.created_at),
  sweepId: r.sweep_id === null ? null : Number(r.sweep_id),
});

export class DecisionStore {
  constructor(private readonly db: Db) {}

  async add(d: Omit<Decision, 'id'>, tx: SqlRunner = this.db): Promise<Decision> {
    const row = await tx.get<{ id: number }>(
      `INSERT INTO moderation_decisions (subject, uploader, stage, verdict, reasons, matches, labels, content_types, automated_detection, automated_decision, content_created_at, created_at, sweep_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      [
        d.subject,
        d.uploader,
        d.stage,
        d.verdict,
        JSON.stringify(d.reasons),
        JSON.stringify(d.matches),
        d.labels.join(' '),
        d.contentTypes.join(' '),
        d.automatedDetection ? 1 : 0,
        d.automatedDecision ? 1 : 0,
        d.contentCreatedAt,
        d.createdAt,
        d.sweepId,
      ],
    );
    return { ...d, id: Number(row!.id) };
  }

  async get(id: number): Promise<Decision | undefined> {
    const row = await this.db.get<Row>('SELECT * FROM moderation_decisions WHERE id = ?', [id]);
    return row && fromRow(row);
  }

  /** Every decision about a subject, oldest first. */
  async forSubject(subject: Subject): Promise<Decision[]> {
    return (await this.db.all<Row>('SELECT * FROM moderation_decisions WHERE subject = ? ORDER BY id', [subject])).map(fromRow);
  }

  async latest(subject: Subject): Promise<Decision | undefined> {
    const row = await this.db.get<Row>('SELECT * FROM moderation_decisions WHERE subject = ? ORDER BY id DESC LIMIT 1', [subject]);
    return row && fromRow(row);
  }

  /** Decisions after an id, in id order: a cursor for readers that must see every decision once (case intake). */
  async after(afterId: number, limit = 500): Promise<Decision[]> {
    return (await this.db.all<Row>('SELECT * FROM moderation_decisions WHERE id > ? ORDER BY id LIMIT ?', [afterId, limit])).map(fromRow);
  }

  /** Decisions made in [from, to), in id order, paged by id (for reports computed from decisions). */
  async *between(from: number, to: number, pageSize = 1000): AsyncGenerator<Decision> {
    let after = 0;
    for (;;) {
      const rows = await this.db.all<Row>('SELECT * FROM moderation_decisions WHERE created_at >= ? AND created_at < ? AND id > ? ORDER BY id LIMIT ?', [from, to, after, pageSize]);
      for (const r of rows) yield fromRow(r);
      if (rows.length < pageSize) return;
      after = Number(rows[rows.length - 1]!.id);
    }
  }
}
