/**
 * The queue: what moderators see and take. Order: overdue cases first, then those past their escalation
 * time, then by priority (removal orders, crisis holds, trusted flaggers, held uploads, notices, reports),
 * then by deadline. A moderator claims a case for a limited time; only the holder of a live claim can
 * decide, and a decision must name the version it was made on, so two people never act on one case.
 */
import { DomainError, ErrorCode } from '@doublelock/protocol';
import { caseFromRow, loadCase, type CaseRecord, type CaseRow } from './caseRecord.ts';
import { announce, recordEvent, type CaseEvent, type CasesContext } from './context.ts';
import { clockFor, describeCountdown, urgencyOf, windowFor, type LegalBasis, type Urgency } from './legalBasis.ts';

export interface QueueItem extends CaseRecord {
  urgency: Urgency;
  remainingMs: number;
  countdown: string;
}

export const withUrgency = (c: CaseRecord, now: number): QueueItem => ({ ...c, urgency: urgencyOf(c, now), remainingMs: c.dueAt - now, countdown: describeCountdown(c.dueAt, now) });

export interface QueueFilter {
  state?: 'open' | 'claimed' | 'decided' | 'pending';
  assignee?: string;
  source?: string;
  limit?: number;
  /** cursor for decided cases, newest first */
  before?: number;
}

export async function listQueue(ctx: CasesContext, filter: QueueFilter = {}): Promise<QueueItem[]> {
  const now = ctx.now();
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), 500);
  const where: string[] = [];
  const params: Array<string | number> = [];
  const state = filter.state ?? 'pending';
  if (state === 'pending') where.push("state <> 'decided'");
  else {
    where.push('state = ?');
    params.push(state);
  }
  if (filter.assignee) {
    where.push('assignee = ?');
    params.push(filter.assignee);
  }
  if (filter.source) {
    where.push('source = ?');
    params.push(filter.source);
  }
  if (state === 'decided') {
    if (filter.before) {
      where.push('id < ?');
      params.push(filter.before);
    }
    const rows = await ctx.db.all<CaseRow>(`SELECT * FROM cases WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`, [...params, limit]);
    return rows.map((r) => withUrgency(caseFromRow(r), now));
  }
  const rows = await ctx.db.all<CaseRow>(
    `SELECT * FROM cases WHERE ${where.join(' AND ')}
     ORDER BY CASE WHEN due_at <= ? THEN 0 WHEN escalate_at <= ? THEN 1 ELSE 2 END, priority, due_at, id LIMIT ?`,
    [...params, now, now, limit],
  );
  return rows.map((r) => withUrgency(caseFromRow(r), now));
}

/**
 * Claiming and deciding rest on one conditional UPDATE of the case row (its version): on PostgreSQL the
 * row lock settles who wins, so they run READ COMMITTED — under SERIALIZABLE, moderators working at once
 * kept failing each other on the shared tables' predicate locks (bench:cases found it).
 */
export const CASE_ROW_GUARDED = { readCommitted: true } as const;

const claimLive = (c: CaseRecord, now: number) => c.state === 'claimed' && c.claimedUntil !== null && c.claimedUntil > now;

/** Claims a case for `moderator` (or lets an admin assign it): refused while someone else's claim lives. */
export async function claimCase(ctx: CasesContext, caseId: number, moderator: string, actor = moderator): Promise<CaseRecord> {
  const now = ctx.now();
  const events: CaseEvent[] = [];
  const claimed = await ctx.db.transaction(async (tx) => {
    const c = await loadCase(tx, caseId);
    if (c.state === 'decided') throw new DomainError(ErrorCode.conflict, `Case ${caseId} is already decided.`);
    if (claimLive(c, now) && c.assignee !== moderator) throw new DomainError(ErrorCode.conflict, `Case ${caseId} is claimed by ${c.assignee} until ${new Date(c.claimedUntil!).toISOString()}.`);
    const until = now + ctx.config.claimTtlMs;
    const { changes } = await tx.run("UPDATE cases SET state = 'claimed', assignee = ?, claimed_until = ?, version = version + 1 WHERE id = ? AND version = ?", [moderator, until, caseId, c.version]);
    if (!changes) throw new DomainError(ErrorCode.conflict, `Case ${caseId} changed meanwhile: reload it.`);
    events.push(await recordEvent(tx, { caseId, appealId: null, at: now, actor, event: actor === moderator ? 'claimed' : 'assigned', detail: { moderator, until } }));
    return loadCase(tx, caseId);
  }, CASE_ROW_GUARDED);
  announce(ctx, events);
  return claimed;
}

export async function releaseCase(ctx: CasesContext, caseId: number, moderator: string): Promise<CaseRecord> {
  const now = ctx.now();
  const events: CaseEvent[] = [];
  const released = await ctx.db.transaction(async (tx) => {
    const c = await loadCase(tx, caseId);
    if (c.state !== 'claimed' || c.assignee !== moderator) throw new DomainError(ErrorCode.conflict, `Case ${caseId} is not claimed by you.`);
    await tx.run("UPDATE cases SET state = 'open', assignee = NULL, claimed_until = NULL, version = version + 1 WHERE id = ?", [caseId]);
    events.push(await recordEvent(tx, { caseId, appealId: null, at: now, actor: moderator, event: 'released', detail: {} }));
    return loadCase(tx, caseId);
  });
  announce(ctx, events);
  return released;
}

/** The moderator's live claim at this version, or a 409 saying why not. */
export function requireClaim(c: CaseRecord, moderator: string, version: number, now: number): void {
  if (c.state === 'decided') throw new DomainError(ErrorCode.conflict, `Case ${c.id} is already decided.`);
  if (c.assignee !== moderator || !claimLive(c, now)) throw new DomainError(ErrorCode.conflict, `Claim case ${c.id} before deciding it (your claim is missing or has lapsed).`);
  if (c.version !== version) throw new DomainError(ErrorCode.conflict, `Case ${c.id} is at version ${c.version}, not ${version}: reload it before deciding.`);
}

/**
 * NetzDG triage: content that is unlawful but not manifestly so has 7 days rather than 24 hours (and the
 * other way round). The clock restarts from receipt under the new basis.
 */
export async function setBasis(ctx: CasesContext, caseId: number, moderator: string, version: number, basis: LegalBasis): Promise<CaseRecord> {
  const now = ctx.now();
  const targets = await ctx.targets();
  const events: CaseEvent[] = [];
  const updated = await ctx.db.transaction(async (tx) => {
    const c = await loadCase(tx, caseId);
    requireClaim(c, moderator, version, now);
    if (c.basis === 'tco' || basis === 'tco') throw new DomainError(ErrorCode.validation, 'A removal order’s one-hour clock cannot be changed.');
    const clock = clockFor(c.receivedAt, windowFor(basis, c.source, targets), targets);
    await tx.run('UPDATE cases SET legal_basis = ?, due_at = ?, escalate_at = ?, version = version + 1 WHERE id = ?', [basis, clock.dueAt, clock.escalateAt, caseId]);
    events.push(await recordEvent(tx, { caseId, appealId: null, at: now, actor: moderator, event: 'basis_changed', detail: { from: c.basis, to: basis, dueAt: clock.dueAt } }));
    return loadCase(tx, caseId);
  });
  announce(ctx, events);
  return updated;
}

export interface ClockSweep {
  escalated: number[];
  overdue: number[];
}

/**
 * Marks cases whose escalation time or deadline has passed, once each, with an event the server logs
 * loudly and counts. Lapsed claims on escalated cases are released so anyone can take them.
 */
export async function sweepClocks(ctx: CasesContext): Promise<ClockSweep> {
  const now = ctx.now();
  const events: CaseEvent[] = [];
  const sweep = await ctx.db.transaction(async (tx) => {
    const escalate = await tx.all<{ id: number; due_at: number; assignee: string | null }>(
      "SELECT id, due_at, assignee FROM cases WHERE state <> 'decided' AND escalated_at IS NULL AND escalate_at <= ? ORDER BY id",
      [now],
    );
    for (const c of escalate) {
      await tx.run('UPDATE cases SET escalated_at = ? WHERE id = ?', [now, c.id]);
      events.push(await recordEvent(tx, { caseId: Number(c.id), appealId: null, at: now, actor: 'system:clock', event: 'escalated', detail: { dueAt: Number(c.due_at), assignee: c.assignee } }));
    }
    await tx.run("UPDATE cases SET state = 'open', assignee = NULL, claimed_until = NULL, version = version + 1 WHERE state = 'claimed' AND claimed_until <= ? AND escalated_at IS NOT NULL", [now]);
    const overdue = await tx.all<{ id: number; due_at: number; source: string }>(
      "SELECT id, due_at, source FROM cases WHERE state <> 'decided' AND overdue_at IS NULL AND due_at <= ? ORDER BY id",
      [now],
    );
    for (const c of overdue) {
      await tx.run('UPDATE cases SET overdue_at = ? WHERE id = ?', [now, c.id]);
      events.push(await recordEvent(tx, { caseId: Number(c.id), appealId: null, at: now, actor: 'system:clock', event: 'overdue', detail: { dueAt: Number(c.due_at), source: c.source } }));
    }
    return { escalated: escalate.map((c) => Number(c.id)), overdue: overdue.map((c) => Number(c.id)) };
  });
  announce(ctx, events);
  return sweep;
}

export async function caseEvents(ctx: CasesContext, caseId: number): Promise<CaseEvent[]> {
  const rows = await ctx.db.all<{ id: number; case_id: number | null; appeal_id: number | null; at: number; actor: string; event: string; detail: string }>(
    'SELECT * FROM case_events WHERE case_id = ? ORDER BY id',
    [caseId],
  );
  return rows.map((r) => ({ id: Number(r.id), caseId: r.case_id === null ? null : Number(r.case_id), appealId: r.appeal_id === null ? null : Number(r.appeal_id), at: Number(r.at), actor: r.actor, event: r.event, detail: JSON.parse(r.detail) as Record<string, unknown> }));
}

/** Every event after a cursor (the console's live feed: escalations, overdue cases, decisions). */
export async function eventsAfter(ctx: CasesContext, after: number, limit = 200): Promise<CaseEvent[]> {
  const rows = await ctx.db.all<{ id: number; case_id: number | null; appeal_id: number | null; at: number; actor: string; event: string; detail: string }>(
    'SELECT * FROM case_events WHERE id > ? ORDER BY id LIMIT ?',
    [after, Math.min(Math.max(limit, 1), 1000)],
  );
  return rows.map((r) => ({ id: Number(r.id), caseId: r.case_id === null ? null : Number(r.case_id), appealId: r.appeal_id === null ? null : Number(r.appeal_id), at: Number(r.at), actor: r.actor, event: r.event, detail: JSON.parse(r.detail) as Record<string, unknown> }));
}
