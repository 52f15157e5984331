/**
 * Transparency reports computed from what was stored — notices, removal orders, decisions, appeals —
 * never typed in. One pass of SQL per table over the period (GROUP BY where a count is all that is
 * needed, a single column streamed where a median is), so a report over a million decisions takes
 * seconds. The same numbers feed the DSA harmonised template (dsaTemplate.ts), the TCO Art. 7(3) items
 * and the NetzDG-style time buckets; charts.ts draws them.
 */
import { DomainError, ErrorCode } from '@doublelock/protocol';
import { STATEMENT_CATEGORY, type StatementCategory } from '@doublelock/protocol/dsa';
import type { SqlRunner } from '@doublelock/store';
import { RESTRICTION_BITS } from '../decisions.ts';

const HOUR = 3_600_000;
const OWN_INITIATIVE = "('upload_hold', 'sweep_hold', 'crisis_hold', 'automated')";

export interface ReportPeriod {
  /** inclusive, ms */
  from: number;
  /** exclusive, ms */
  to: number;
}

const DAY = 24 * HOUR;

/**
 * The period of a report given as days (YYYY-MM-DD, UTC), both included: what the server's report route
 * and `doublelock moderation report` accept. At most three years, so one request cannot ask for more.
 */
export function reportPeriod(from: string, to: string): ReportPeriod {
  const day = /^\d{4}-\d{2}-\d{2}$/;
  const start = day.test(from) ? Date.parse(`${from}T00:00:00Z`) : NaN;
  const end = day.test(to) ? Date.parse(`${to}T00:00:00Z`) + DAY : NaN;
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw new DomainError(ErrorCode.validation, 'from and to are dates, YYYY-MM-DD.');
  if (end <= start) throw new DomainError(ErrorCode.validation, '"to" is on or after "from".');
  if (end - start > 3 * 366 * DAY) throw new DomainError(ErrorCode.validation, 'A report covers at most three years.');
  return { from: start, to: end };
}

export interface OrderRow {
  category: StatementCategory;
  memberState: string;
  orders: number;
  items: number;
  /** Receipt is confirmed in the response to the signed request itself. */
  medianTimeToInformMs: number | null;
  medianTimeToEffectMs: number | null;
}

export interface NoticeRow {
  category: StatementCategory;
  received: number;
  fromTrustedFlaggers: number;
  items: number;
  itemsTrustedFlaggers: number;
  medianTimeToActionMs: number | null;
  medianTimeToActionTrustedFlaggersMs: number | null;
  actionsLaw: number;
  actionsLawTrustedFlaggers: number;
  actionsTerms: number;
  actionsTermsTrustedFlaggers: number;
}

export interface MeasureRow {
  category: StatementCategory;
  measures: number;
  automatedDetection: number;
  removal: number;
  disable: number;
  demoted: number;
  ageRestricted: number;
  interactionRestricted: number;
  labelled: number;
  visibilityOther: number;
  monetarySuspension: number;
  monetaryTermination: number;
  monetaryOther: number;
  provisionSuspension: number;
  provisionTermination: number;
  accountSuspension: number;
  accountTermination: number;
}

export interface Buckets {
  within24h: number;
  within48h: number;
  withinWeek: number;
  later: number;
  pending: number;
  total: number;
}

export interface TransparencyReport {
  period: { from: string; to: string; fromMs: number; toMs: number };
  generatedAt: string;
  dsa: {
    orders: OrderRow[];
    notices: NoticeRow[];
    ownInitiativeIllegal: MeasureRow[];
    ownInitiativeTerms: MeasureRow[];
    complaints: {
      received: number;
      byUploaders: number;
      byNotifiers: number;
      aboutIllegalContent: number;
      aboutTermsAndConditions: number;
      decided: number;
      upheld: number;
      reversed: number;
      pending: number;
      medianTimeToDecideMs: number | null;
      suspensionsImposed: number;
      terminationsImposed: number;
    };
    automated: {
      measuresAfterAutomatedDetection: number;
      decisionsFullyAutomated: number;
      fullyAutomatedAppealed: number;
      fullyAutomatedReversed: number;
      /** reversed / appealed, of fully automated decisions (null when none was appealed) */
      automatedErrorRate: number | null;
      heldReviewed: number;
      heldConfirmed: number;
      /** confirmed / reviewed, of uploads held by hash matching (precision of the matcher's holds) */
      heldPrecision: number | null;
    };
  };
  tco: {
    measures: string[];
    reuploadsBlocked: number;
    itemsRemovedUnderOrders: number;
    itemsRemovedBySpecificMeasures: number;
    orders: number;
    ordersEffectedWithinHour: number;
    ordersEffectedLate: number;
    ordersOverdueOpen: number;
    ordersNotActedOn: Array<{ reference: string; authority: string; reason: string }>;
    complaints: number;
    complaintsReversed: number;
    reinstatements: number;
    legalProceedings: { initiated: number; contentRestoredAfterProceedings: number; note: string };
  };
  netzdg: {
    /** Time from receipt to decision for notices under NetzDG (the law's own buckets). */
    netzdgNotices: Buckets;
    bySource: Record<string, Buckets>;
    all: Buckets;
  };
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const emptyBuckets = (): Buckets => ({ within24h: 0, within48h: 0, withinWeek: 0, later: 0, pending: 0, total: 0 });

export function bucketOf(receivedAt: number, decidedAt: number | null): keyof Omit<Buckets, 'total'> {
  if (decidedAt === null) return 'pending';
  const t = decidedAt - receivedAt;
  return t <= 24 * HOUR ? 'within24h' : t <= 48 * HOUR ? 'within48h' : t <= 7 * 24 * HOUR ? 'withinWeek' : 'later';
}

const CATEGORIES = Object.keys(STATEMENT_CATEGORY) as StatementCategory[];
const n = (v: unknown) => Number(v ?? 0);

async function orders(db: SqlRunner, p: ReportPeriod, now: number) {
  const rows = await db.all<{ id: number; reference: string; authority_id: string; member_state: string; received_at: number; category: string; items: number; decided: number; removed: number; cannot: number; reason: string | null; effected: number | null; unapplied: number; due: number }>(
    `SELECT o.id, o.reference, o.authority_id, o.member_state, o.received_at, MIN(c.category) AS category, COUNT(c.id) AS items,
       SUM(CASE WHEN c.state = 'decided' THEN 1 ELSE 0 END) AS decided,
       SUM(CASE WHEN d.restriction_mask <> 0 THEN 1 ELSE 0 END) AS removed,
       SUM(CASE WHEN d.cannot_comply IS NOT NULL THEN 1 ELSE 0 END) AS cannot, MIN(d.cannot_comply) AS reason,
       MAX(d.applied_at) AS effected, SUM(CASE WHEN d.id IS NOT NULL AND d.applied_at IS NULL THEN 1 ELSE 0 END) AS unapplied, MAX(c.due_at) AS due
     FROM removal_orders o JOIN cases c ON c.order_id = o.id LEFT JOIN case_decisions d ON d.id = c.decision_id
     WHERE o.received_at >= ? AND o.received_at < ? GROUP BY o.id, o.reference, o.authority_id, o.member_state, o.received_at ORDER BY o.id`,
    [p.from, p.to],
  );
  const groups = new Map<string, { category: StatementCategory; memberState: string; orders: number; items: number; effect: number[] }>();
  let within = 0;
  let late = 0;
  let overdueOpen = 0;
  const notActed: TransparencyReport['tco']['ordersNotActedOn'] = [];
  for (const r of rows) {
    const key = `${r.category}|${r.member_state}`;
    const g = groups.get(key) ?? { category: r.category as StatementCategory, memberState: r.member_state, orders: 0, items: 0, effect: [] };
    g.orders++;
    g.items += n(r.items);
    const complete = n(r.decided) === n(r.items) && n(r.unapplied) === 0;
    if (n(r.cannot) > 0) notActed.push({ reference: r.reference, authority: r.authority_id, reason: r.reason ?? 'unknown' });
    else if (complete && n(r.removed) > 0 && r.effected !== null) {
      const t = n(r.effected) - n(r.received_at);
      g.effect.push(t);
      if (t <= HOUR) within++;
      else late++;
    } else if (now >= n(r.due)) overdueOpen++;
    groups.set(key, g);
  }
  const orderRows: OrderRow[] = [...groups.values()].map((g) => ({ category: g.category, memberState: g.memberState, orders: g.orders, items: g.items, medianTimeToInformMs: g.orders ? 0 : null, medianTimeToEffectMs: median(g.effect) }));
  // Per category over every Member State: the template's "Total" scope.
  const totals = new Map<StatementCategory, { orders: number; items: number; effect: number[] }>();
  for (const g of groups.values()) {
    const t = totals.get(g.category) ?? { orders: 0, items: 0, effect: [] };
    t.orders += g.orders;
    t.items += g.items;
    t.effect.push(...g.effect);
    totals.set(g.category, t);
  }
  for (const [category, t] of totals) orderRows.push({ category, memberState: 'Total', orders: t.orders, items: t.items, medianTimeToInformMs: 0, medianTimeToEffectMs: median(t.effect) });
  return { orderRows, total: rows.length, within, late, overdueOpen, notActed };
}

async function notices(db: SqlRunner, p: ReportPeriod): Promise<NoticeRow[]> {
  const rows = await db.all<{ category: string; kind: string; received_at: number; case_id: number; decided_at: number | null; ground: string | null; mask: number | null; decision_id: number | null }>(
    `SELECT n.category, n.kind, n.received_at, n.case_id, d.decided_at, d.ground, d.restriction_mask AS mask, d.id AS decision_id
     FROM case_notices n JOIN cases c ON c.id = n.case_id LEFT JOIN case_decisions d ON d.id = c.decision_id
     WHERE n.kind IN ('article16', 'trusted_flagger') AND n.received_at >= ? AND n.received_at < ?`,
    [p.from, p.to],
  );
  type Acc = { received: number; tf: number; items: Set<number>; itemsTf: Set<number>; times: number[]; timesTf: number[]; law: Set<number>; lawTf: Set<number>; terms: Set<number>; termsTf: Set<number> };
  const acc = new Map<string, Acc>();
  for (const r of rows) {
    const a = acc.get(r.category) ?? { received: 0, tf: 0, items: new Set(), itemsTf: new Set(), times: [], timesTf: [], law: new Set(), lawTf: new Set(), terms: new Set(), termsTf: new Set() };
    const tf = r.kind === 'trusted_flagger';
    const caseId = n(r.case_id);
    a.received++;
    a.items.add(caseId);
    if (tf) {
      a.tf++;
      a.itemsTf.add(caseId);
    }
    if (r.decided_at !== null) {
      const t = n(r.decided_at) - n(r.received_at);
      a.times.push(t);
      if (tf) a.timesTf.push(t);
      if (n(r.mask) !== 0) {
        const decision = n(r.decision_id);
        if (r.ground === 'illegal') {
          a.law.add(decision);
          if (tf) a.lawTf.add(decision);
        } else if (r.ground === 'incompatible') {
          a.terms.add(decision);
          if (tf) a.termsTf.add(decision);
        }
      }
    }
    acc.set(r.category, a);
  }
  return CATEGORIES.filter((c) => acc.has(c)).map((category) => {
    const a = acc.get(category)!;
    return {
      category,
      received: a.received,
      fromTrustedFlaggers: a.tf,
      items: a.items.size,
      itemsTrustedFlaggers: a.itemsTf.size,
      medianTimeToActionMs: median(a.times),
      medianTimeToActionTrustedFlaggersMs: median(a.timesTf),
      actionsLaw: a.law.size,
      actionsLawTrustedFlaggers: a.lawTf.size,
      actionsTerms: a.terms.size,
      actionsTermsTrustedFlaggers: a.termsTf.size,
    };
  });
}

const bit = (name: keyof typeof RESTRICTION_BITS, column: string) => `SUM(CASE WHEN (restriction_mask & ${RESTRICTION_BITS[name]}) <> 0 THEN 1 ELSE 0 END) AS ${column}`;

async function ownInitiative(db: SqlRunner, p: ReportPeriod): Promise<{ illegal: MeasureRow[]; terms: MeasureRow[] }> {
  const rows = await db.all<Record<string, number | string>>(
    `SELECT category, ground, COUNT(*) AS measures, SUM(automated_detection) AS automated,
       ${bit('remove', 'removal')}, ${bit('geo_restrict', 'disable')}, ${bit('demote', 'demoted')}, ${bit('age_restrict', 'age')}, ${bit('label', 'labelled')},
       ${bit('demonetise', 'demonetised')}, ${bit('suspend_account', 'suspended')}, ${bit('terminate_account', 'terminated')}
     FROM case_decisions WHERE decided_at >= ? AND decided_at < ? AND source IN ${OWN_INITIATIVE} AND restriction_mask <> 0
     GROUP BY category, ground`,
    [p.from, p.to],
  );
  const toRow = (r: Record<string, number | string>): MeasureRow => ({
    category: r.category as StatementCategory,
    measures: n(r.measures),
    automatedDetection: n(r.automated),
    removal: n(r.removal),
    disable: n(r.disable),
    demoted: n(r.demoted),
    ageRestricted: n(r.age),
    interactionRestricted: 0,
    labelled: n(r.labelled),
    visibilityOther: 0,
    monetarySuspension: 0,
    monetaryTermination: n(r.demonetised),
    monetaryOther: 0,
    provisionSuspension: 0,
    provisionTermination: 0,
    accountSuspension: n(r.suspended),
    accountTermination: n(r.terminated),
  });
  const order = (rows: MeasureRow[]) => rows.sort((a, b) => CATEGORIES.indexOf(a.category) - CATEGORIES.indexOf(b.category));
  return { illegal: order(rows.filter((r) => r.ground === 'illegal').map(toRow)), terms: order(rows.filter((r) => r.ground === 'incompatible').map(toRow)) };
}

async function complaints(db: SqlRunner, p: ReportPeriod) {
  const rows = await db.all<{ state: string; outcome: string | null; received_at: number; decided_at: number | null; complainant_kind: string; ground: string; automated_decision: string; source: string; legal_basis: string }>(
    `SELECT a.state, a.outcome, a.received_at, a.decided_at, a.complainant_kind, d.ground, d.automated_decision, d.source, d.legal_basis
     FROM case_appeals a JOIN case_decisions d ON d.id = a.decision_id WHERE a.received_at >= ? AND a.received_at < ?`,
    [p.from, p.to],
  );
  const decided = rows.filter((r) => r.state === 'decided');
  const accounts = await db.get<{ suspended: number; terminated: number }>(
    `SELECT ${bit('suspend_account', 'suspended')}, ${bit('terminate_account', 'terminated')} FROM case_decisions WHERE decided_at >= ? AND decided_at < ? AND restriction_mask >= ?`,
    [p.from, p.to, RESTRICTION_BITS.suspend_account],
  );
  return { rows, decided, accounts };
}

async function automated(db: SqlRunner, p: ReportPeriod) {
  const row = await db.get<Record<string, number>>(
    `SELECT SUM(CASE WHEN automated_detection = 1 AND restriction_mask <> 0 THEN 1 ELSE 0 END) AS detected,
       SUM(CASE WHEN automated_decision = 'AUTOMATED_DECISION_FULLY' THEN 1 ELSE 0 END) AS fully,
       SUM(CASE WHEN source IN ('upload_hold', 'sweep_hold', 'crisis_hold') THEN 1 ELSE 0 END) AS held,
       SUM(CASE WHEN source IN ('upload_hold', 'sweep_hold', 'crisis_hold') AND restriction_mask <> 0 THEN 1 ELSE 0 END) AS confirmed,
       SUM(CASE WHEN source = 'automated' THEN 1 ELSE 0 END) AS blocked,
       SUM(CASE WHEN source = 'removal_order' AND restriction_mask <> 0 THEN 1 ELSE 0 END) AS order_removals,
       SUM(CASE WHEN source IN ${OWN_INITIATIVE} AND restriction_mask <> 0 AND ((restriction_mask & 3) <> 0) THEN 1 ELSE 0 END) AS specific_removals
     FROM case_decisions WHERE decided_at >= ? AND decided_at < ?`,
    [p.from, p.to],
  );
  const appealed = await db.get<{ appealed: number; reversed: number }>(
    `SELECT COUNT(DISTINCT a.decision_id) AS appealed, COUNT(DISTINCT CASE WHEN a.outcome = 'reversed' THEN a.decision_id END) AS reversed
     FROM case_appeals a JOIN case_decisions d ON d.id = a.decision_id
     WHERE d.automated_decision = 'AUTOMATED_DECISION_FULLY' AND d.decided_at >= ? AND d.decided_at < ?`,
    [p.from, p.to],
  );
  return { row: row ?? {}, appealed: n(appealed?.appealed), reversedAutomated: n(appealed?.reversed) };
}

async function buckets(db: SqlRunner, p: ReportPeriod) {
  const rows = await db.all<{ source: string; legal_basis: string; received_at: number; decided_at: number | null }>(
    "SELECT source, legal_basis, received_at, decided_at FROM cases WHERE received_at >= ? AND received_at < ? AND source <> 'automated'",
    [p.from, p.to],
  );
  const all = emptyBuckets();
  const netzdg = emptyBuckets();
  const bySource: Record<string, Buckets> = {};
  for (const r of rows) {
    const b = bucketOf(n(r.received_at), r.decided_at === null ? null : n(r.decided_at));
    const s = (bySource[r.source] ??= emptyBuckets());
    for (const target of [all, s, ...(r.legal_basis.startsWith('netzdg') ? [netzdg] : [])]) {
      target[b]++;
      target.total++;
    }
  }
  return { all, netzdg, bySource };
}

const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

export async function computeReport(db: SqlRunner, period: ReportPeriod, now: number): Promise<TransparencyReport> {
  const [o, ns, own, c, a, b] = [await orders(db, period, now), await notices(db, period), await ownInitiative(db, period), await complaints(db, period), await automated(db, period), await buckets(db, period)];
  const times = c.decided.filter((r) => r.decided_at !== null).map((r) => n(r.decided_at) - n(r.received_at));
  const tcoComplaints = c.rows.filter((r) => r.legal_basis === 'tco' || r.source === 'automated' || r.source.endsWith('_hold'));
  return {
    period: { from: isoDay(period.from), to: isoDay(period.to - 1), fromMs: period.from, toMs: period.to },
    generatedAt: new Date(now).toISOString(),
    dsa: {
      orders: o.orderRows,
      notices: ns,
      ownInitiativeIllegal: own.illegal,
      ownInitiativeTerms: own.terms,
      complaints: {
        received: c.rows.length,
        byUploaders: c.rows.filter((r) => r.complainant_kind === 'uploader').length,
        byNotifiers: c.rows.filter((r) => r.complainant_kind === 'notifier').length,
        aboutIllegalContent: c.rows.filter((r) => r.ground === 'illegal').length,
        aboutTermsAndConditions: c.rows.filter((r) => r.ground === 'incompatible').length,
        decided: c.decided.length,
        upheld: c.decided.filter((r) => r.outcome === 'upheld').length,
        reversed: c.decided.filter((r) => r.outcome === 'reversed').length,
        pending: c.rows.length - c.decided.length,
        medianTimeToDecideMs: median(times),
        suspensionsImposed: n(c.accounts?.suspended),
        terminationsImposed: n(c.accounts?.terminated),
      },
      automated: {
        measuresAfterAutomatedDetection: n(a.row.detected),
        decisionsFullyAutomated: n(a.row.fully),
        fullyAutomatedAppealed: a.appealed,
        fullyAutomatedReversed: a.reversedAutomated,
        automatedErrorRate: a.appealed ? a.reversedAutomated / a.appealed : null,
        heldReviewed: n(a.row.held),
        heldConfirmed: n(a.row.confirmed),
        heldPrecision: n(a.row.held) ? n(a.row.confirmed) / n(a.row.held) : null,
      },
    },
    tco: {
      measures: [
        'Every upload is hashed (PDQ, vPDQ, MD5, SHA-256, URL rules) and matched against banks of known terrorist content shared by the industry before it is published; matches are blocked or held for a person to review.',
        'Published content is re-checked against newly added hashes (retro-sweep); crisis incidents hold uploads near an incident’s hashes for review.',
        'Removal orders from competent authorities are authenticated by each authority’s registered key and handled against a one-hour clock.',
      ],
      reuploadsBlocked: n(a.row.blocked),
      itemsRemovedUnderOrders: n(a.row.order_removals),
      itemsRemovedBySpecificMeasures: n(a.row.specific_removals),
      orders: o.total,
      ordersEffectedWithinHour: o.within,
      ordersEffectedLate: o.late,
      ordersOverdueOpen: o.overdueOpen,
      ordersNotActedOn: o.notActed,
      complaints: tcoComplaints.length,
      complaintsReversed: tcoComplaints.filter((r) => r.outcome === 'reversed').length,
      reinstatements: tcoComplaints.filter((r) => r.outcome === 'reversed' && r.complainant_kind === 'uploader').length,
      legalProceedings: { initiated: 0, contentRestoredAfterProceedings: 0, note: 'Legal proceedings are not recorded by this system; report them separately.' },
    },
    netzdg: { netzdgNotices: b.netzdg, bySource: b.bySource, all: b.all },
  };
}

export { HOUR as REPORT_HOUR };
