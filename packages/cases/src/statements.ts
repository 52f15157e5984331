/**
 * Statements of reasons as their people see them: the uploader reads their own (with the redress open to
 * them, DSA Art. 17(3)(f)), and the operator exports them to the Transparency Database in batches of up
 * to 100, each statement validated again (rules and notifier identities) just before it leaves.
 */
import { DomainError, ErrorCode } from '@doublelock/protocol';
import { randomBytes } from '@noble/hashes/utils.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { CasesContext } from './context.ts';
import { notifierIdentities } from './decisions.ts';
import { addMonths } from './legalBasis.ts';
import { batches, validateStatement, type StatementOfReasons, type Violation } from './statementOfReasons.ts';

export const APPEAL_MONTHS = 6;

export interface StatementView {
  id: number;
  decisionId: number;
  caseId: number;
  puid: string;
  recipient: string | null;
  createdAt: number;
  toldAt: number | null;
  statement: StatementOfReasons;
  reversed: boolean;
  redress: {
    /** DSA Art. 20: the internal complaint-handling system, free, open this long after being told. */
    appealUntil: number | null;
    appeal: string;
    outOfCourt: string;
    judicial: string;
  };
}

interface StatementRow {
  id: number;
  decision_id: number;
  case_id: number;
  puid: string;
  recipient: string | null;
  body: string;
  created_at: number;
  disclose_at: number;
  told_at: number | null;
  reversed_at: number | null;
}

const SELECT = 'SELECT s.id, s.decision_id, d.case_id, s.puid, s.recipient, s.body, s.created_at, s.disclose_at, s.told_at, d.reversed_at FROM statements_of_reasons s JOIN case_decisions d ON d.id = s.decision_id';

function view(ctx: CasesContext, r: StatementRow): StatementView {
  const told = r.told_at === null ? null : Number(r.told_at);
  return {
    id: Number(r.id),
    decisionId: Number(r.decision_id),
    caseId: Number(r.case_id),
    puid: r.puid,
    recipient: r.recipient,
    createdAt: Number(r.created_at),
    toldAt: told,
    statement: JSON.parse(r.body) as StatementOfReasons,
    reversed: r.reversed_at !== null,
    redress: {
      appealUntil: told === null ? null : addMonths(told, APPEAL_MONTHS),
      appeal: `Complain free of charge within ${APPEAL_MONTHS} months: POST /v1/statements/${Number(r.id)}/appeal (a person, not a machine, decides).`,
      outOfCourt: ctx.config.outOfCourt,
      judicial: 'You may also take the matter to the competent court at any time.',
    },
  };
}

/** The statements an uploader has been told about (a TCO disclosure delay hides one until it ends). */
export async function statementsOf(ctx: CasesContext, username: string, limit = 100): Promise<StatementView[]> {
  const rows = await ctx.db.all<StatementRow>(`${SELECT} WHERE s.recipient = ? AND s.told_at IS NOT NULL ORDER BY s.id DESC LIMIT ?`, [username, limit]);
  return rows.map((r) => view(ctx, r));
}

/** One statement, for its recipient only (404 for anyone else, as for a statement not yet told). */
export async function statementFor(ctx: CasesContext, id: number, username: string | null): Promise<StatementView> {
  const row = await ctx.db.get<StatementRow>(`${SELECT} WHERE s.id = ?`, [id]);
  if (!row || (username !== null && (row.recipient !== username || row.told_at === null))) throw new DomainError(ErrorCode.notFound, `No statement ${id} for you.`);
  return view(ctx, row);
}

export interface ExportResult {
  batches: Array<{ batchId: string; statements: StatementOfReasons[]; statementIds: number[] }>;
  refused: Array<{ statementId: number; violations: Violation[] }>;
}

/**
 * Statements due to the Transparency Database (applicable, told — a delayed disclosure also delays the
 * export — and not yet exported), validated and cut into batches of up to 100. With `mark`, they are
 * recorded as exported under their batch id so the next export does not repeat them.
 */
export async function exportStatements(ctx: CasesContext, options: { limit?: number; mark?: boolean } = {}): Promise<ExportResult> {
  const limit = Math.min(Math.max(options.limit ?? 1000, 1), 100_000);
  const rows = await ctx.db.all<{ id: number; body: string; case_id: number }>(
    `SELECT s.id, s.body, d.case_id FROM statements_of_reasons s JOIN case_decisions d ON d.id = s.decision_id
     WHERE s.tdb_applicable = 1 AND s.exported_at IS NULL AND s.told_at IS NOT NULL ORDER BY s.id LIMIT ?`,
    [limit],
  );
  const good: Array<{ id: number; statement: StatementOfReasons }> = [];
  const refused: ExportResult['refused'] = [];
  for (const r of rows) {
    const result = validateStatement(JSON.parse(r.body), { notifierIdentities: await notifierIdentities(ctx.db, Number(r.case_id)) });
    if (result.ok) good.push({ id: Number(r.id), statement: result.statement });
    else refused.push({ statementId: Number(r.id), violations: result.violations });
  }
  const out = batches(good).map((b) => ({ batchId: `${new Date(ctx.now()).toISOString().slice(0, 10)}-${bytesToHex(randomBytes(6))}`, statements: b.map((x) => x.statement), statementIds: b.map((x) => x.id) }));
  if (options.mark && out.length) {
    const now = ctx.now();
    await ctx.db.transaction(async (tx) => {
      for (const b of out) for (const id of b.statementIds) await tx.run('UPDATE statements_of_reasons SET exported_at = ?, export_batch = ? WHERE id = ? AND exported_at IS NULL', [now, b.batchId, id]);
    });
  }
  return { batches: out, refused };
}
