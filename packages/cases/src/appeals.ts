/**
 * Appeals: the internal complaint-handling system (DSA Art. 20; for removal orders TCO Art. 10).
 * - The uploader complains about a statement of reasons within six months of being told; a notifier
 *   complains about the decision on their notice (e.g. no action) within six months of hearing it.
 * - A person decides — never the system, and never the moderator who made the decision appealed —
 *   within the operator's target, or two weeks for removals under a removal order (TCO Art. 10(2)).
 * - A reversal reinstates the content (or restores the account), tells both sides, and marks each bank
 *   signal the decision rested on as disputed (a negative opinion the hub shares). A reversed "no action"
 *   reopens the case for a new decision. Every answer names the out-of-court route (DSA Art. 21).
 */
import { DomainError, ErrorCode } from '@doublelock/protocol';
import type { SqlRunner } from '@doublelock/store';
import { loadCase } from './caseRecord.ts';
import { announce, notify, recordEvent, type CaseEvent, type CasesContext } from './context.ts';
import { liftDecision, loadDecision } from './decisions.ts';
import { noticeByReceipt } from './intake.ts';
import { addMonths, clockFor, TCO_COMPLAINT_MS, windowFor } from './legalBasis.ts';
import { APPEAL_MONTHS } from './statements.ts';

export interface AppealRecord {
  id: number;
  decisionId: number;
  caseId: number;
  complainantKind: 'uploader' | 'notifier';
  complainant: string;
  grounds: string;
  receivedAt: number;
  dueAt: number;
  state: 'open' | 'claimed' | 'decided';
  assignee: string | null;
  claimedUntil: number | null;
  version: number;
  decidedBy: string | null;
  decidedAt: number | null;
  outcome: 'upheld' | 'reversed' | null;
  reasons: string | null;
}

interface AppealRow {
  id: number;
  decision_id: number;
  case_id: number;
  complainant_kind: string;
  complainant: string;
  grounds: string;
  received_at: number;
  due_at: number;
  state: string;
  assignee: string | null;
  claimed_until: number | null;
  version: number;
  decided_by: string | null;
  decided_at: number | null;
  outcome: string | null;
  reasons: string | null;
}

const num = (v: number | null) => (v === null ? null : Number(v));
const fromRow = (r: AppealRow): AppealRecord => ({
  id: Number(r.id),
  decisionId: Number(r.decision_id),
  caseId: Number(r.case_id),
  complainantKind: r.complainant_kind as AppealRecord['complainantKind'],
  complainant: r.complainant,
  grounds: r.grounds,
  receivedAt: Number(r.received_at),
  dueAt: Number(r.due_at),
  state: r.state as AppealRecord['state'],
  assignee: r.assignee,
  claimedUntil: num(r.claimed_until),
  version: Number(r.version),
  decidedBy: r.decided_by,
  decidedAt: num(r.decided_at),
  outcome: r.outcome as AppealRecord['outcome'],
  reasons: r.reasons,
});

export async function loadAppeal(tx: SqlRunner, id: number): Promise<AppealRecord> {
  const row = await tx.get<AppealRow>('SELECT * FROM case_appeals WHERE id = ?', [id]);
  if (!row) throw new DomainError(ErrorCode.notFound, `No appeal ${id}.`);
  return fromRow(row);
}

async function fileAppeal(ctx: CasesContext, decisionId: number, kind: AppealRecord['complainantKind'], complainant: string, grounds: string, toldAt: number): Promise<AppealRecord> {
  const now = ctx.now();
  if (now > addMonths(toldAt, APPEAL_MONTHS)) throw new DomainError(ErrorCode.forbidden, `The ${APPEAL_MONTHS}-month window to complain about this decision closed on ${new Date(addMonths(toldAt, APPEAL_MONTHS)).toISOString().slice(0, 10)}; ${ctx.config.outOfCourt}`);
  const targets = await ctx.targets();
  const events: CaseEvent[] = [];
  const appeal = await ctx.db.transaction(async (tx) => {
    const d = await loadDecision(tx, decisionId);
    if (d.reversedAt !== null) throw new DomainError(ErrorCode.conflict, 'This decision was already reversed.');
    const window = d.basis === 'tco' ? Math.min(TCO_COMPLAINT_MS, targets.appeal) : targets.appeal;
    const { dueAt } = clockFor(now, window, targets);
    const row = await tx.get<AppealRow>(
      `INSERT INTO case_appeals (decision_id, case_id, complainant_kind, complainant, grounds, received_at, due_at, state, version)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'open', 0) ON CONFLICT (decision_id, complainant_kind, complainant) DO NOTHING RETURNING *`,
      [decisionId, d.caseId, kind, complainant, grounds, now, dueAt],
    );
    if (!row) throw new DomainError(ErrorCode.conflict, 'You have already complained about this decision.');
    const a = fromRow(row);
    events.push(await recordEvent(tx, { caseId: d.caseId, appealId: a.id, at: now, actor: kind, event: 'appeal_received', detail: { decisionId, dueAt } }));
    await notify(tx, kind === 'uploader' ? `account:${complainant}` : complainant, d.caseId, 'appeal_receipt', { appealId: a.id, dueAt, text: 'We received your complaint. A person will review the decision.' }, now);
    return a;
  });
  announce(ctx, events);
  return appeal;
}

/** The uploader's complaint about a statement of reasons they were told. */
export async function appealStatement(ctx: CasesContext, statementId: number, username: string, grounds: string): Promise<AppealRecord> {
  const s = await ctx.db.get<{ decision_id: number; recipient: string | null; told_at: number | null }>('SELECT decision_id, recipient, told_at FROM statements_of_reasons WHERE id = ?', [statementId]);
  if (!s || s.recipient !== username || s.told_at === null) throw new DomainError(ErrorCode.notFound, `No statement ${statementId} for you.`);
  return fileAppeal(ctx, Number(s.decision_id), 'uploader', username, grounds, Number(s.told_at));
}

/** A notifier's complaint about the decision on their notice (followed by its receipt token). */
export async function appealNotice(ctx: CasesContext, receiptToken: string, grounds: string): Promise<AppealRecord> {
  const { noticeId, caseId } = await noticeByReceipt(ctx.db, receiptToken);
  const c = await loadCase(ctx.db, caseId);
  if (c.decisionId === null) throw new DomainError(ErrorCode.conflict, 'Your notice has not been decided yet.');
  const told = await ctx.db.get<{ created_at: number }>("SELECT created_at FROM case_notifications WHERE recipient = ? AND kind = 'decision' ORDER BY id DESC LIMIT 1", [`notice:${noticeId}`]);
  return fileAppeal(ctx, c.decisionId, 'notifier', `notice:${noticeId}`, grounds, Number(told?.created_at ?? c.decidedAt ?? ctx.now()));
}

export async function listAppeals(ctx: CasesContext, filter: { state?: 'pending' | 'decided'; limit?: number } = {}): Promise<AppealRecord[]> {
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), 500);
  const rows = filter.state === 'decided'
    ? await ctx.db.all<AppealRow>("SELECT * FROM case_appeals WHERE state = 'decided' ORDER BY id DESC LIMIT ?", [limit])
    : await ctx.db.all<AppealRow>("SELECT * FROM case_appeals WHERE state <> 'decided' ORDER BY due_at, id LIMIT ?", [limit]);
  return rows.map(fromRow);
}

/** Claims an appeal: a person other than the one whose decision is appealed. */
export async function claimAppeal(ctx: CasesContext, id: number, moderator: string): Promise<AppealRecord> {
  const now = ctx.now();
  const events: CaseEvent[] = [];
  const claimed = await ctx.db.transaction(async (tx) => {
    const a = await loadAppeal(tx, id);
    const d = await loadDecision(tx, a.decisionId);
    if (a.state === 'decided') throw new DomainError(ErrorCode.conflict, `Appeal ${id} is already decided.`);
    if (d.decidedBy === moderator) throw new DomainError(ErrorCode.forbidden, 'An appeal is reviewed by someone other than the moderator who made the decision.');
    if (a.state === 'claimed' && a.assignee !== moderator && (a.claimedUntil ?? 0) > now) throw new DomainError(ErrorCode.conflict, `Appeal ${id} is claimed by ${a.assignee}.`);
    await tx.run("UPDATE case_appeals SET state = 'claimed', assignee = ?, claimed_until = ?, version = version + 1 WHERE id = ? AND version = ?", [moderator, now + ctx.config.claimTtlMs, id, a.version]);
    events.push(await recordEvent(tx, { caseId: a.caseId, appealId: id, at: now, actor: moderator, event: 'appeal_claimed', detail: {} }));
    return loadAppeal(tx, id);
  });
  announce(ctx, events);
  return claimed;
}

/** A person's decision on an appeal; a reversal undoes the decision and disputes its signals. */
export async function decideAppeal(ctx: CasesContext, id: number, moderator: string, input: { version: number; outcome: 'upheld' | 'reversed'; reasons: string }): Promise<AppealRecord> {
  const now = ctx.now();
  const targets = await ctx.targets();
  const events: CaseEvent[] = [];
  const result = await ctx.db.transaction(async (tx) => {
    const a = await loadAppeal(tx, id);
    if (a.state === 'decided') throw new DomainError(ErrorCode.conflict, `Appeal ${id} is already decided.`);
    if (a.assignee !== moderator || (a.claimedUntil ?? 0) <= now) throw new DomainError(ErrorCode.conflict, `Claim appeal ${id} before deciding it.`);
    if (a.version !== input.version) throw new DomainError(ErrorCode.conflict, `Appeal ${id} is at version ${a.version}, not ${input.version}.`);
    const d = await loadDecision(tx, a.decisionId);
    const c = await loadCase(tx, a.caseId);
    await tx.run("UPDATE case_appeals SET state = 'decided', decided_by = ?, decided_at = ?, outcome = ?, reasons = ?, version = version + 1 WHERE id = ?", [moderator, now, input.outcome, input.reasons, id]);
    const redress = ctx.config.outOfCourt;
    const reversed = input.outcome === 'reversed';
    if (reversed && d.actions.length) {
      await tx.run('UPDATE case_decisions SET reversed_at = ?, reversed_by_appeal = ? WHERE id = ?', [now, id, d.id]);
    } else if (reversed) {
      // "No action" reversed: the case opens again with a fresh clock.
      const clock = clockFor(now, windowFor(c.basis, c.source, targets), targets);
      await tx.run("UPDATE cases SET state = 'open', assignee = NULL, claimed_until = NULL, decided_at = NULL, decision_id = NULL, due_at = ?, escalate_at = ?, escalated_at = NULL, overdue_at = NULL, version = version + 1 WHERE id = ?", [clock.dueAt, clock.escalateAt, c.id]);
      await tx.run('UPDATE case_decisions SET reversed_at = ?, reversed_by_appeal = ? WHERE id = ?', [now, id, d.id]);
    }
    // Both sides hear the outcome: the uploader and every notifier of the case (and the complainant).
    const told = new Set<string>();
    const body = { appealId: id, outcome: input.outcome, reasons: input.reasons, reinstated: reversed && d.actions.length > 0, outOfCourt: redress };
    if (a.complainantKind === 'notifier') told.add(a.complainant);
    if (d.owner && (reversed || a.complainantKind === 'uploader')) told.add(`account:${d.owner}`);
    if (reversed) for (const n of await tx.all<{ id: number }>("SELECT id FROM case_notices WHERE case_id = ? AND kind <> 'franked_report'", [c.id])) told.add(`notice:${n.id}`);
    for (const recipient of told) await notify(tx, recipient, c.id, 'appeal_decision', body, now);
    events.push(await recordEvent(tx, { caseId: c.id, appealId: id, at: now, actor: moderator, event: reversed ? 'appeal_reversed' : 'appeal_upheld', detail: { decisionId: d.id } }));
    return { appeal: await loadAppeal(tx, id), decision: d, caseRecord: c, reinstate: reversed && d.actions.length > 0 };
  });
  announce(ctx, events);
  if (result.reinstate) {
    await liftDecision(ctx, result.decision, result.caseRecord).catch(() => undefined); // liftPending retries
    for (const s of result.decision.signals) await ctx.opinions.record({ signalId: s.signalId, bank: s.bank, opinion: 'negative', reason: 'appeal_reversed', reference: `appeal:${id}`, at: now });
  }
  return result.appeal;
}
