/** A case as stored: the row, its typed form, and the queries several modules share. */
import { DomainError, ErrorCode } from '@doublelock/protocol';
import type { StatementCategory } from '@doublelock/protocol/dsa';
import type { SqlRunner } from '@doublelock/store';
import type { ContentRef } from './content.ts';
import type { CaseSource, LegalBasis } from './legalBasis.ts';

export type CaseState = 'open' | 'claimed' | 'decided';

/** A bank signal that matched the content (held and blocked uploads). */
export interface CaseMatch {
  bank: string;
  signalId: number;
  distance?: number;
  labels: string[];
}

export interface CaseRecord {
  id: number;
  source: CaseSource;
  basis: LegalBasis;
  priority: number;
  content: ContentRef | { kind: 'unresolved'; id: string };
  url: string;
  owner: string | null;
  category: StatementCategory;
  summary: string;
  state: CaseState;
  assignee: string | null;
  claimedUntil: number | null;
  version: number;
  receivedAt: number;
  dueAt: number;
  escalateAt: number;
  escalatedAt: number | null;
  overdueAt: number | null;
  decidedAt: number | null;
  decisionId: number | null;
  incidentId: number | null;
  orderId: number | null;
  matches: CaseMatch[];
  pipelineRef: string | null;
}

export interface CaseRow {
  id: number;
  source: string;
  legal_basis: string;
  priority: number;
  content_kind: string;
  content_id: string;
  content_url: string;
  content_owner: string | null;
  category: string;
  summary: string;
  state: string;
  assignee: string | null;
  claimed_until: number | null;
  version: number;
  received_at: number;
  due_at: number;
  escalate_at: number;
  escalated_at: number | null;
  overdue_at: number | null;
  decided_at: number | null;
  decision_id: number | null;
  incident_id: number | null;
  order_id: number | null;
  matches: string;
  pipeline_ref: string | null;
}

const num = (v: number | null): number | null => (v === null ? null : Number(v));

export function caseFromRow(r: CaseRow): CaseRecord {
  return {
    id: Number(r.id),
    source: r.source as CaseSource,
    basis: r.legal_basis as LegalBasis,
    priority: Number(r.priority),
    content: { kind: r.content_kind as ContentRef['kind'], id: r.content_id },
    url: r.content_url,
    owner: r.content_owner,
    category: r.category as StatementCategory,
    summary: r.summary,
    state: r.state as CaseState,
    assignee: r.assignee,
    claimedUntil: num(r.claimed_until),
    version: Number(r.version),
    receivedAt: Number(r.received_at),
    dueAt: Number(r.due_at),
    escalateAt: Number(r.escalate_at),
    escalatedAt: num(r.escalated_at),
    overdueAt: num(r.overdue_at),
    decidedAt: num(r.decided_at),
    decisionId: num(r.decision_id),
    incidentId: num(r.incident_id),
    orderId: num(r.order_id),
    matches: JSON.parse(r.matches) as CaseMatch[],
    pipelineRef: r.pipeline_ref,
  };
}

export async function loadCase(tx: SqlRunner, id: number): Promise<CaseRecord> {
  const row = await tx.get<CaseRow>('SELECT * FROM cases WHERE id = ?', [id]);
  if (!row) throw new DomainError(ErrorCode.notFound, `No case ${id}.`);
  return caseFromRow(row);
}

export interface NewCase {
  source: CaseSource;
  basis: LegalBasis;
  priority: number;
  content: CaseRecord['content'];
  url: string;
  owner: string | null;
  category: StatementCategory;
  summary: string;
  receivedAt: number;
  dueAt: number;
  escalateAt: number;
  incidentId?: number | null;
  orderId?: number | null;
  matches?: CaseMatch[];
  pipelineRef?: string | null;
  dedupeKey?: string | null;
  state?: CaseState;
}

/** Inserts a case; with a dedupe key, a second intake of the same thing returns the first case. */
export async function insertCase(tx: SqlRunner, c: NewCase): Promise<{ id: number; created: boolean }> {
  const row = await tx.get<{ id: number }>(
    `INSERT INTO cases (source, legal_basis, priority, content_kind, content_id, content_url, content_owner, category, summary, state, version,
       received_at, due_at, escalate_at, incident_id, order_id, matches, pipeline_ref, dedupe_key)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
    [
      c.source,
      c.basis,
      c.priority,
      c.content.kind,
      c.content.id,
      c.url,
      c.owner,
      c.category,
      c.summary,
      c.state ?? 'open',
      c.receivedAt,
      c.dueAt,
      c.escalateAt,
      c.incidentId ?? null,
      c.orderId ?? null,
      JSON.stringify(c.matches ?? []),
      c.pipelineRef ?? null,
      c.dedupeKey ?? null,
    ],
  );
  if (row) return { id: Number(row.id), created: true };
  const existing = await tx.get<{ id: number }>('SELECT id FROM cases WHERE dedupe_key = ?', [c.dedupeKey ?? null]);
  if (!existing) throw new Error('case insert conflicted without a dedupe key');
  return { id: Number(existing.id), created: false };
}
