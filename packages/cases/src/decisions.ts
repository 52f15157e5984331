/**
 * Decisions and actions. A moderator holding a live claim decides a case at the version they saw; the
 * decision (who, when, which restrictions, the ground — which law or which term —, category, whether
 * detection and decision were automated) and, for every restriction, its statement of reasons
 * (validated against the Transparency Database's rules before it is stored) commit in one transaction.
 * The restrictions are then applied through the content seam; a decision not yet applied (a crash, a
 * failing content store) is applied again by the next sweep, so an acknowledged decision is never lost.
 */
import { DomainError, ErrorCode } from '@doublelock/protocol';
import { EUROPEAN_UNION_COUNTRY_CODES, type AutomatedDecision, type Keyword, type StatementCategory } from '@doublelock/protocol/dsa';
import type { DecisionGroundInput, DecisionRequest, Restriction } from '@doublelock/protocol/cases';
import type { SqlRunner } from '@doublelock/store';
import { insertCase, loadCase, type CaseMatch, type CaseRecord } from './caseRecord.ts';
import { isAccountRestriction, type ActionNote, type ContentRef, type ContentSnapshot } from './content.ts';
import { announce, notify, recordEvent, type CaseEvent, type CasesContext } from './context.ts';
import { preserveEvidence } from './evidence.ts';
import type { CaseSource, LegalBasis } from './legalBasis.ts';
import { CASE_ROW_GUARDED, requireClaim } from './queue.ts';
import { buildStatement, territorialScope } from './statementBuilder.ts';
import { validateStatement, type StatementOfReasons } from './statementOfReasons.ts';

/** One bit per restriction kind: reports count millions of decisions with `restriction_mask & bit`. */
export const RESTRICTION_BITS: Record<Restriction['type'], number> = {
  remove: 1,
  geo_restrict: 2,
  label: 4,
  age_restrict: 8,
  demote: 16,
  demonetise: 32,
  suspend_account: 64,
  terminate_account: 128,
};

export const maskOf = (actions: readonly Restriction[]) => actions.reduce((m, a) => m | RESTRICTION_BITS[a.type], 0);

export interface DecisionRecord {
  id: number;
  caseId: number;
  source: CaseSource;
  basis: LegalBasis;
  decidedBy: string;
  decidedAt: number;
  receivedAt: number;
  actions: Restriction[];
  ground: DecisionGroundInput;
  category: StatementCategory;
  keywords: Keyword[];
  territorialScope: string[];
  automatedDetection: boolean;
  automatedDecision: AutomatedDecision;
  facts: string;
  cannotComply: string | null;
  owner: string | null;
  signals: CaseMatch[];
  appliedAt: number | null;
  reversedAt: number | null;
  reversedByAppeal: number | null;
}

interface DecisionRow {
  id: number;
  case_id: number;
  source: string;
  legal_basis: string;
  decided_by: string;
  decided_at: number;
  received_at: number;
  actions: string;
  ground: string;
  legal_ground: string | null;
  terms_ground: string | null;
  explanation: string;
  also_illegal: number;
  facts: string;
  cannot_comply: string | null;
  category: string;
  keywords: string;
  territorial_scope: string;
  automated_detection: number;
  automated_decision: string;
  content_owner: string | null;
  signals: string;
  applied_at: number | null;
  reversed_at: number | null;
  reversed_by_appeal: number | null;
}

const num = (v: number | null) => (v === null ? null : Number(v));

function groundOf(r: DecisionRow): DecisionGroundInput {
  if (r.ground === 'illegal') return { kind: 'illegal', law: r.legal_ground ?? '', explanation: r.explanation };
  if (r.ground === 'incompatible') return { kind: 'incompatible', term: r.terms_ground ?? '', explanation: r.explanation, alsoIllegal: !!Number(r.also_illegal) };
  return { kind: 'none', explanation: r.explanation };
}

export function decisionFromRow(r: DecisionRow): DecisionRecord {
  return {
    id: Number(r.id),
    caseId: Number(r.case_id),
    source: r.source as CaseSource,
    basis: r.legal_basis as LegalBasis,
    decidedBy: r.decided_by,
    decidedAt: Number(r.decided_at),
    receivedAt: Number(r.received_at),
    actions: JSON.parse(r.actions) as Restriction[],
    ground: groundOf(r),
    category: r.category as StatementCategory,
    keywords: JSON.parse(r.keywords) as Keyword[],
    territorialScope: JSON.parse(r.territorial_scope) as string[],
    automatedDetection: !!Number(r.automated_detection),
    automatedDecision: r.automated_decision as AutomatedDecision,
    facts: r.facts,
    cannotComply: r.cannot_comply,
    owner: r.content_owner,
    signals: JSON.parse(r.signals) as CaseMatch[],
    appliedAt: num(r.applied_at),
    reversedAt: num(r.reversed_at),
    reversedByAppeal: num(r.reversed_by_appeal),
  };
}

export async function loadDecision(tx: SqlRunner, id: number): Promise<DecisionRecord> {
  const row = await tx.get<DecisionRow>('SELECT * FROM case_decisions WHERE id = ?', [id]);
  if (!row) throw new DomainError(ErrorCode.notFound, `No decision ${id}.`);
  return decisionFromRow(row);
}

interface NewDecision {
  caseRecord: CaseRecord;
  decidedBy: string;
  decidedAt: number;
  actions: Restriction[];
  ground: DecisionGroundInput;
  category: StatementCategory;
  keywords: Keyword[];
  facts: string;
  automatedDecision: AutomatedDecision;
  cannotComply?: string | null;
}

async function insertDecision(tx: SqlRunner, d: NewDecision): Promise<number> {
  const g = d.ground;
  const c = d.caseRecord;
  const row = await tx.get<{ id: number }>(
    `INSERT INTO case_decisions (case_id, source, legal_basis, decided_by, decided_at, received_at, actions, restriction_mask, ground, legal_ground, terms_ground,
       explanation, also_illegal, facts, cannot_comply, category, keywords, territorial_scope, automated_detection, automated_decision, content_owner, signals)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    [
      c.id,
      c.source,
      c.basis,
      d.decidedBy,
      d.decidedAt,
      c.receivedAt,
      JSON.stringify(d.actions),
      maskOf(d.actions),
      g.kind,
      g.kind === 'illegal' ? g.law : null,
      g.kind === 'incompatible' ? g.term : null,
      g.explanation,
      g.kind === 'incompatible' && g.alsoIllegal ? 1 : 0,
      d.facts,
      d.cannotComply ?? null,
      d.category,
      JSON.stringify(d.keywords),
      JSON.stringify(d.actions.length ? territorialScope(d.actions) : []),
      c.source === 'upload_hold' || c.source === 'sweep_hold' || c.source === 'crisis_hold' || c.source === 'automated' ? 1 : 0,
      d.automatedDecision,
      c.owner,
      JSON.stringify(c.matches),
    ],
  );
  const id = Number(row!.id);
  await tx.run('UPDATE cases SET decision_id = ? WHERE id = ?', [id, c.id]);
  return id;
}

/** The notifiers of a case: their identities must never appear in a statement. */
export async function notifierIdentities(tx: SqlRunner, caseId: number): Promise<string[]> {
  const rows = await tx.all<{ notifier_name: string | null; notifier_email: string | null; notifier_account: string | null; kind: string }>(
    'SELECT notifier_name, notifier_email, notifier_account, kind FROM case_notices WHERE case_id = ?',
    [caseId],
  );
  return rows.filter((r) => r.kind !== 'trusted_flagger').flatMap((r) => [r.notifier_name, r.notifier_email, r.notifier_account].filter((v): v is string => !!v));
}

/** Who the statement may name as its source: a trusted flagger organisation or the issuing authority. */
async function sourceIdentity(tx: SqlRunner, c: CaseRecord): Promise<string | null> {
  if (c.source === 'trusted_flagger') {
    const row = await tx.get<{ organisation: string | null }>("SELECT organisation FROM case_notices WHERE case_id = ? AND kind = 'trusted_flagger' ORDER BY id LIMIT 1", [c.id]);
    return row?.organisation ?? null;
  }
  if (c.source === 'removal_order' && c.orderId !== null) {
    const row = await tx.get<{ name: string; member_state: string }>('SELECT a.name, o.member_state FROM removal_orders o JOIN case_authorities a ON a.id = o.authority_id WHERE o.id = ?', [c.orderId]);
    return row ? `${row.name} (${row.member_state})` : null;
  }
  return null;
}

/** When the uploader may be told: now, unless a removal order asked to delay it (TCO Art. 11(3)). */
async function discloseAt(tx: SqlRunner, c: CaseRecord, now: number): Promise<number> {
  if (c.orderId === null) return now;
  const row = await tx.get<{ disclosure_delayed_until: number | null }>('SELECT disclosure_delayed_until FROM removal_orders WHERE id = ?', [c.orderId]);
  return Math.max(now, Number(row?.disclosure_delayed_until ?? now));
}

/** Builds, validates and stores the statement of reasons of a restrictive decision. */
async function issueStatement(ctx: CasesContext, tx: SqlRunner, c: CaseRecord, decisionId: number, d: NewDecision, snapshot: ContentSnapshot | undefined): Promise<{ id: number; statement: StatementOfReasons; discloseAt: number }> {
  const statement = buildStatement({
    decisionId,
    deploymentId: ctx.config.deploymentId,
    source: c.source,
    sourceIdentity: await sourceIdentity(tx, c),
    actions: d.actions,
    ground: d.ground,
    category: d.category,
    keywords: d.keywords,
    facts: d.facts,
    contentTypes: snapshot?.contentTypes ?? [],
    contentKind: c.content.kind,
    language: snapshot?.language,
    contentDate: snapshot?.createdAt ?? c.receivedAt,
    decidedAt: d.decidedAt,
    automatedDecision: d.automatedDecision,
    termsUrl: ctx.config.termsUrl,
  });
  // A restriction outside the EEA alone is not the Transparency Database's: the uploader still gets the
  // statement, and every other rule still holds.
  const tdbApplicable = statement.territorial_scope.length > 0;
  const checked = validateStatement(tdbApplicable ? statement : { ...statement, territorial_scope: [...EUROPEAN_UNION_COUNTRY_CODES] }, { notifierIdentities: await notifierIdentities(tx, c.id) });
  if (!checked.ok) {
    throw new DomainError(ErrorCode.validation, `The statement of reasons would break the Transparency Database rules: ${checked.violations.map((v) => `${v.field} (${v.rule}): ${v.message}`).join('; ')}`, { violations: checked.violations });
  }
  const body = tdbApplicable ? checked.statement : { ...checked.statement, territorial_scope: [] };
  const disclose = await discloseAt(tx, c, d.decidedAt);
  const row = await tx.get<{ id: number }>(
    'INSERT INTO statements_of_reasons (decision_id, puid, recipient, body, created_at, disclose_at, told_at, tdb_applicable) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id',
    [decisionId, body.puid, c.owner, JSON.stringify(body), d.decidedAt, disclose, null, tdbApplicable ? 1 : 0],
  );
  return { id: Number(row!.id), statement: body, discloseAt: disclose };
}

/**
 * Tells the uploader about statements whose time has come (now, or when a TCO delay ends). The sweep
 * tells every due statement; a decision tells only its own (`statementId`), so concurrent decisions do
 * not all read and write the same rows (on PostgreSQL's SERIALIZABLE they would keep failing each other).
 */
export async function tellUploaders(ctx: CasesContext, tx: SqlRunner, now: number, statementId?: number): Promise<number> {
  const due = await tx.all<{ id: number; decision_id: number; recipient: string | null; puid: string }>(
    statementId === undefined
      ? 'SELECT id, decision_id, recipient, puid FROM statements_of_reasons WHERE told_at IS NULL AND disclose_at <= ? ORDER BY id LIMIT 1000'
      : 'SELECT id, decision_id, recipient, puid FROM statements_of_reasons WHERE told_at IS NULL AND disclose_at <= ? AND id = ?',
    statementId === undefined ? [now] : [now, statementId],
  );
  for (const s of due) {
    if (s.recipient) {
      const caseRow = await tx.get<{ case_id: number }>('SELECT case_id FROM case_decisions WHERE id = ?', [s.decision_id]);
      await notify(tx, `account:${s.recipient}`, caseRow ? Number(caseRow.case_id) : null, 'statement_of_reasons', { statementId: Number(s.id), puid: s.puid, text: 'We restricted your content or account. The statement of reasons says why and how you can complain.' }, now);
    }
    await tx.run('UPDATE statements_of_reasons SET told_at = ? WHERE id = ?', [now, s.id]);
  }
  return due.length;
}

/** DSA Art. 16(5): each notifier hears what was decided and the redress open to them. */
async function tellNotifiers(ctx: CasesContext, tx: SqlRunner, caseId: number, d: NewDecision, now: number): Promise<void> {
  const notices = await tx.all<{ id: number; kind: string; notifier_account: string | null }>("SELECT id, kind, notifier_account FROM case_notices WHERE case_id = ? AND kind <> 'franked_report'", [caseId]);
  const body = {
    outcome: d.actions.length ? 'restricted' : 'no_action',
    actions: d.actions.map((a) => a.type),
    ground: d.ground.kind,
    automated: d.automatedDecision !== 'AUTOMATED_DECISION_NOT_AUTOMATED',
    redress: `You may complain about this decision within 6 months (DSA Art. 20); ${ctx.config.outOfCourt}`,
  };
  for (const n of notices) await notify(tx, `notice:${n.id}`, caseId, 'decision', body, now);
}

function checkActions(c: CaseRecord, actions: readonly Restriction[], ground: DecisionGroundInput, now: number): void {
  const bad = (message: string) => new DomainError(ErrorCode.validation, message);
  if (new Set(actions.map((a) => a.type)).size !== actions.length) throw bad('Each kind of restriction at most once per decision.');
  if (actions.length && ground.kind === 'none') throw bad('A restriction needs a ground: illegal (under which law) or incompatible (with which term).');
  if (c.content.kind === 'unresolved') throw bad('This URL is not content of this service: answer the order with "cannot comply".');
  if (c.content.kind !== 'post' && actions.some((a) => !isAccountRestriction(a))) throw bad(`A ${c.content.kind} can only lead to an account restriction (or none).`);
  if (actions.some(isAccountRestriction) && !c.owner) throw bad('No account is known behind this content.');
  for (const a of actions) if (a.type === 'suspend_account' && a.until !== null && a.until <= now) throw bad('A suspension ends in the future.');
  if (c.source === 'removal_order') {
    const removes = actions.some((a) => a.type === 'remove' || (a.type === 'geo_restrict' && EUROPEAN_UNION_COUNTRY_CODES.every((m) => a.territories.includes(m))));
    if (!removes) throw bad('A removal order is complied with by removing the content or disabling it in every Member State (TCO Art. 3(3)); otherwise answer "cannot comply" (Annex III).');
    if (ground.kind !== 'illegal') throw bad('A removal order’s content is decided as illegal content (TCO Regulation).');
  }
}

export interface DecisionOutcome {
  decision: DecisionRecord;
  statementId: number | null;
  statement: StatementOfReasons | null;
}

/** A moderator's decision on a case they hold (one decision at a time: the claim and the version). */
export async function decide(ctx: CasesContext, caseId: number, moderator: string, input: DecisionRequest): Promise<DecisionOutcome> {
  const before = await loadCase(ctx.db, caseId);
  const now = ctx.now();
  checkActions(before, input.actions, input.ground, now);
  const snapshot = before.content.kind === 'unresolved' ? undefined : await ctx.content.snapshot(before.content);
  const events: CaseEvent[] = [];
  const outcome = await ctx.db.transaction(async (tx) => {
    const c = await loadCase(tx, caseId);
    requireClaim(c, moderator, input.version, now);
    const { changes } = await tx.run("UPDATE cases SET state = 'decided', decided_at = ?, version = version + 1 WHERE id = ? AND version = ? AND state = 'claimed' AND assignee = ?", [now, caseId, input.version, moderator]);
    if (!changes) throw new DomainError(ErrorCode.conflict, `Case ${caseId} changed meanwhile: reload it.`);
    const d: NewDecision = { caseRecord: c, decidedBy: moderator, decidedAt: now, actions: input.actions, ground: input.ground, category: input.category, keywords: input.keywords, facts: input.facts, automatedDecision: 'AUTOMATED_DECISION_NOT_AUTOMATED' };
    const decisionId = await insertDecision(tx, d);
    const issued = input.actions.length ? await issueStatement(ctx, tx, c, decisionId, d, snapshot) : null;
    await tellNotifiers(ctx, tx, caseId, d, now);
    if (issued) await tellUploaders(ctx, tx, now, issued.id);
    events.push(await recordEvent(tx, { caseId, appealId: null, at: now, actor: moderator, event: 'decided', detail: { decisionId, actions: input.actions.map((a) => a.type), ground: input.ground.kind, statementId: issued?.id ?? null } }));
    return { decision: await loadDecision(tx, decisionId), statementId: issued?.id ?? null, statement: issued?.statement ?? null };
  }, CASE_ROW_GUARDED);
  announce(ctx, events);
  await applyDecision(ctx, outcome.decision.id).catch(() => undefined); // retried by the sweep; the failure is an event
  return { ...outcome, decision: await loadDecision(ctx.db, outcome.decision.id) };
}

/** TCO Annex III: the order cannot be complied with (force majeure, a manifest error, too little information). */
export async function cannotComply(ctx: CasesContext, caseId: number, moderator: string, input: { version: number; reason: string; detail: string }): Promise<DecisionRecord> {
  const now = ctx.now();
  const events: CaseEvent[] = [];
  const decision = await ctx.db.transaction(async (tx) => {
    const c = await loadCase(tx, caseId);
    if (c.source !== 'removal_order') throw new DomainError(ErrorCode.validation, '"Cannot comply" answers removal orders only.');
    requireClaim(c, moderator, input.version, now);
    await tx.run("UPDATE cases SET state = 'decided', decided_at = ?, version = version + 1 WHERE id = ?", [now, caseId]);
    const decisionId = await insertDecision(tx, {
      caseRecord: c,
      decidedBy: moderator,
      decidedAt: now,
      actions: [],
      ground: { kind: 'none', explanation: input.detail },
      category: c.category,
      keywords: ['KEYWORD_TERRORIST_CONTENT'],
      facts: input.detail,
      automatedDecision: 'AUTOMATED_DECISION_NOT_AUTOMATED',
      cannotComply: input.reason,
    });
    await tx.run('UPDATE case_decisions SET applied_at = ? WHERE id = ?', [now, decisionId]);
    events.push(await recordEvent(tx, { caseId, appealId: null, at: now, actor: moderator, event: 'cannot_comply', detail: { decisionId, reason: input.reason } }));
    return loadDecision(tx, decisionId);
  });
  announce(ctx, events);
  return decision;
}

export interface AutomatedDecisionInput {
  ref: ContentRef;
  url: string;
  owner: string | null;
  matches: CaseMatch[];
  /** the pipeline's stored decision (`decision:<id>`): one automated decision per pipeline decision */
  pipelineRef: string;
  actions: Restriction[];
  /** What the uploader is told matched (a label and its meaning), never the hash list itself. */
  explanation: string;
  contentDate: number;
  stage: string;
  category?: StatementCategory;
  keywords?: Keyword[];
}

/**
 * The upload check or the retro-sweep restricted content on its own (fully automated): recorded as a
 * decided case with a statement of reasons, so the uploader is told why and can appeal to a person.
 */
export async function recordAutomatedDecision(ctx: CasesContext, input: AutomatedDecisionInput): Promise<DecisionOutcome> {
  const now = ctx.now();
  const snapshot = await ctx.content.snapshot(input.ref);
  const events: CaseEvent[] = [];
  const outcome = await ctx.db.transaction(async (tx) => {
    const { id: caseId, created } = await insertCase(tx, {
      source: 'automated',
      basis: 'terms',
      priority: 9,
      content: input.ref,
      url: input.url,
      owner: input.owner,
      category: input.category ?? 'STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY',
      summary: input.explanation.slice(0, 280),
      receivedAt: now,
      dueAt: now,
      escalateAt: now,
      matches: input.matches,
      pipelineRef: input.pipelineRef,
      dedupeKey: `auto:${input.pipelineRef}`,
      state: 'decided',
    });
    const c = await loadCase(tx, caseId);
    if (!created && c.decisionId !== null) {
      const s = await tx.get<{ id: number; body: string }>('SELECT id, body FROM statements_of_reasons WHERE decision_id = ?', [c.decisionId]);
      return { decision: await loadDecision(tx, c.decisionId), statementId: s ? Number(s.id) : null, statement: s ? (JSON.parse(s.body) as StatementOfReasons) : null };
    }
    await tx.run('UPDATE cases SET decided_at = ? WHERE id = ?', [now, caseId]);
    const removed = input.actions.some((a) => a.type === 'remove');
    const d: NewDecision = {
      caseRecord: c,
      decidedBy: `system:${input.stage}`,
      decidedAt: now,
      actions: input.actions,
      ground: { kind: 'incompatible', term: ctx.config.automatedTerm, explanation: `It matched ${input.explanation}.`, alsoIllegal: false },
      category: input.category ?? 'STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY',
      keywords: input.keywords ?? ['KEYWORD_TERRORIST_CONTENT'],
      facts: `${input.stage === 'retro_sweep' ? 'After it was published, the content' : 'On upload, the content'} matched entries of a list of known terrorist content shared by the industry (${input.explanation}) and was ${removed ? (input.stage === 'retro_sweep' ? 'removed' : 'not published') : 'labelled'} automatically.`,
      automatedDecision: 'AUTOMATED_DECISION_FULLY',
    };
    const decisionId = await insertDecision(tx, d);
    const issued = await issueStatement(ctx, tx, c, decisionId, d, snapshot ? { ...snapshot, createdAt: input.contentDate } : undefined);
    await tellUploaders(ctx, tx, now, issued.id);
    events.push(await recordEvent(tx, { caseId, appealId: null, at: now, actor: d.decidedBy, event: 'decided_automatically', detail: { decisionId, pipelineRef: input.pipelineRef, actions: input.actions.map((a) => a.type) } }));
    return { decision: await loadDecision(tx, decisionId), statementId: issued.id, statement: issued.statement };
  });
  announce(ctx, events);
  await applyDecision(ctx, outcome.decision.id).catch(() => undefined);
  return outcome;
}

const HELD_SOURCES: ReadonlySet<CaseSource> = new Set(['upload_hold', 'sweep_hold', 'crisis_hold']);

/** One line for the record beside the content's state: the ground, never a notifier or a hash. */
function reasonOf(d: DecisionRecord): string {
  const g = d.ground;
  return g.kind === 'illegal' ? `illegal: ${g.law}` : g.kind === 'incompatible' ? `terms: ${g.term}` : 'no action';
}

/** Terrorist content is preserved before it goes (TCO Art. 6): orders, matches on terrorist labels, the keyword. */
function preservable(d: DecisionRecord): boolean {
  const removes = d.actions.some((a) => a.type === 'remove' || a.type === 'geo_restrict');
  const terrorist = d.basis === 'tco' || d.keywords.includes('KEYWORD_TERRORIST_CONTENT') || d.signals.some((s) => s.labels.some((l) => l.startsWith('tvec:')));
  return removes && terrorist;
}

/**
 * Applies a decision's restrictions (idempotent: evidence first, then content, then the account), and
 * records a confirmed match as a positive opinion on the signals. Failures stay unapplied and are retried.
 */
export async function applyDecision(ctx: CasesContext, decisionId: number): Promise<void> {
  const d = await loadDecision(ctx.db, decisionId);
  if (d.appliedAt !== null || d.reversedAt !== null) return;
  const c = await loadCase(ctx.db, d.caseId);
  const note: ActionNote = { decisionId: d.id, actor: c.source === 'removal_order' ? 'authority' : d.automatedDecision === 'AUTOMATED_DECISION_FULLY' ? 'upload_check' : 'moderator', reason: reasonOf(d) };
  try {
    if (preservable(d) && c.content.kind !== 'unresolved') await preserveEvidence(ctx, c, d.id, c.content);
    if (c.content.kind !== 'unresolved') {
      // The upload check already blocked what it decided on its own; a held item a person let through is released.
      if (d.source !== 'automated') for (const a of d.actions) if (!isAccountRestriction(a)) await ctx.content.apply(c.content, a, note);
      if (!d.actions.length && d.cannotComply === null && HELD_SOURCES.has(d.source)) await ctx.content.release(c.content, note);
    }
    if (d.owner) {
      for (const a of d.actions) {
        if (a.type === 'suspend_account') await ctx.content.applyToAccount(d.owner, { type: 'suspend', until: a.until }, note);
        if (a.type === 'terminate_account') await ctx.content.applyToAccount(d.owner, { type: 'terminate' }, note);
      }
    }
  } catch (error) {
    const at = ctx.now();
    const event = await recordEvent(ctx.db, { caseId: c.id, appealId: null, at, actor: 'system:actioner', event: 'apply_failed', detail: { decisionId, error: error instanceof Error ? error.message : String(error) } });
    announce(ctx, [event]);
    throw error;
  }
  const now = ctx.now();
  const events: CaseEvent[] = [];
  await ctx.db.transaction(async (tx) => {
    const { changes } = await tx.run('UPDATE case_decisions SET applied_at = ? WHERE id = ? AND applied_at IS NULL', [now, decisionId]);
    if (changes) events.push(await recordEvent(tx, { caseId: c.id, appealId: null, at: now, actor: 'system:actioner', event: 'applied', detail: { decisionId } }));
  });
  announce(ctx, events);
  // A person confirmed what the matcher found: a positive opinion (the hub shares it).
  if (d.actions.length && d.automatedDecision === 'AUTOMATED_DECISION_NOT_AUTOMATED') {
    for (const s of d.signals) await ctx.opinions.record({ signalId: s.signalId, bank: s.bank, opinion: 'positive', reason: 'decision_confirmed', reference: `case:${c.id}`, at: now });
  }
}

/** Every decision left unapplied (after a crash or a failing content store), applied again. */
export async function applyPending(ctx: CasesContext): Promise<number> {
  const rows = await ctx.db.all<{ id: number }>('SELECT id FROM case_decisions WHERE applied_at IS NULL AND reversed_at IS NULL ORDER BY id LIMIT 200');
  let applied = 0;
  for (const r of rows) {
    try {
      await applyDecision(ctx, Number(r.id));
      applied++;
    } catch {
      // recorded as an apply_failed event; the next sweep tries again
    }
  }
  return applied;
}

/** Undoes a decision's restrictions (a reversal on appeal): content reinstated, account restored. */
export async function liftDecision(ctx: CasesContext, d: DecisionRecord, c: CaseRecord): Promise<void> {
  const note: ActionNote = { decisionId: d.id, actor: 'appeal', reason: 'reversed on appeal' };
  if (c.content.kind !== 'unresolved' && d.actions.some((a) => !isAccountRestriction(a))) await ctx.content.reinstate(c.content, note);
  if (d.owner && d.actions.some(isAccountRestriction)) await ctx.content.applyToAccount(d.owner, { type: 'reinstate' }, note);
  await ctx.db.run('UPDATE case_decisions SET lifted_at = ? WHERE id = ? AND lifted_at IS NULL', [ctx.now(), d.id]);
}

/** Reversals whose reinstatement did not go through (a crash, a failing content store), done again. */
export async function liftPending(ctx: CasesContext): Promise<number> {
  const rows = await ctx.db.all<{ id: number }>("SELECT id FROM case_decisions WHERE reversed_at IS NOT NULL AND lifted_at IS NULL AND actions <> '[]' ORDER BY id LIMIT 200");
  let lifted = 0;
  for (const r of rows) {
    const d = await loadDecision(ctx.db, Number(r.id));
    try {
      await liftDecision(ctx, d, await loadCase(ctx.db, d.caseId));
      lifted++;
    } catch (error) {
      announce(ctx, [await recordEvent(ctx.db, { caseId: d.caseId, appealId: d.reversedByAppeal, at: ctx.now(), actor: 'system:actioner', event: 'lift_failed', detail: { decisionId: d.id, error: error instanceof Error ? error.message : String(error) } })]);
    }
  }
  return lifted;
}
