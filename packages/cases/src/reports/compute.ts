/**
 * Transparency reports computed from what was stored — notices, removal orders, decisions, appeals —
 * never typed in. One pass of SQL per table over the period, grouped in the database (only a few hundred
 * groups come back however many rows there are; a single number a row where a median needs the values),
 * so a report over a million decisions takes seconds (bench:cases). The same numbers feed the DSA harmonised template (dsaTemplate.ts), the TCO Art. 7(3) items
 * and the NetzDG-style time buckets; charts.ts draws them.
 */
import { DomainError, ErrorCode } from '@doublelock/protocol';
import { STATEMENT_CATEGORY, type StatementCategory } from '@doublelock/protocol/dsa';
import type { SqlRunner } from '@doublelock/store';
import { RESTRICTION_BITS } from '../decisions.ts';

const HOUR = 3_600_000;

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
  const from = `FROM case_notices n JOIN cases c ON c.id = n.case_id LEFT JOIN case_decisions d ON d.id = c.decision_id
     WHERE n.kind IN ('article16', 'trusted_flagger') AND n.received_at >= ? AND n.received_at < ?`;
  const tf = "n.kind = 'trusted_flagger'";
  const acted = (ground: string) => `d.restriction_mask <> 0 AND d.ground = '${ground}'`;
  // One pass: the counts, and the times to action a median needs as two lists per category (string_agg
  // skips the NULLs of undecided notices), rather than a row per notice for the JS side to build.
  const t = 'CAST(d.decided_at - n.received_at AS TEXT)';
  const counts = await db.all<Record<string, number | string | null>>(
    `SELECT n.category, COUNT(*) AS received, SUM(CASE WHEN ${tf} THEN 1 ELSE 0 END) AS tf,
       COUNT(DISTINCT n.case_id) AS items, COUNT(DISTINCT CASE WHEN ${tf} THEN n.case_id END) AS items_tf,
       COUNT(DISTINCT CASE WHEN ${acted('illegal')} THEN d.id END) AS law, COUNT(DISTINCT CASE WHEN ${acted('illegal')} AND ${tf} THEN d.id END) AS law_tf,
       COUNT(DISTINCT CASE WHEN ${acted('incompatible')} THEN d.id END) AS terms, COUNT(DISTINCT CASE WHEN ${acted('incompatible')} AND ${tf} THEN d.id END) AS terms_tf,
       string_agg(${t}, ',') AS times, string_agg(CASE WHEN ${tf} THEN ${t} END, ',') AS times_tf
     ${from} GROUP BY n.category`,
    [p.from, p.to],
  );
  const list = (v: unknown) => (typeof v === 'string' && v ? v.split(',').map(Number) : []);
  const times = new Map(counts.map((r) => [String(r.category), { all: list(r.times), tf: list(r.times_tf) }]));
  const byCategory = new Map(counts.map((r) => [String(r.category), r]));
  return CATEGORIES.filter((c) => byCategory.has(c)).map((category) => {
    const r = byCategory.get(category)!;
    return {
      category,
      received: n(r.received),
      fromTrustedFlaggers: n(r.tf),
      items: n(r.items),
      itemsTrustedFlaggers: n(r.items_tf),
      medianTimeToActionMs: median(times.get(category)?.all ?? []),
      medianTimeToActionTrustedFlaggersMs: median(times.get(category)?.tf ?? []),
      actionsLaw: n(r.law),
      actionsLawTrustedFlaggers: n(r.law_tf),
      actionsTerms: n(r.terms),
      actionsTermsTrustedFlaggers: n(r.terms_tf),
    };
  });
}

const OWN_INITIATIVE_SOURCES: ReadonlySet<string> = new Set(['upload_hold', 'sweep_hold', 'crisis_hold', 'automated']);
const HELD_SOURCES: ReadonlySet<string> = new Set(['upload_hold', 'sweep_hold', 'crisis_hold']);
const has = (mask: number, kind: keyof typeof RESTRICTION_BITS) => (mask & RESTRICTION_BITS[kind]) !== 0;

/**
 * Every figure about the decisions taken in the period, from one pass: the decisions grouped by what the
 * figures look at (a few hundred groups at most, however many decisions), then added up here.
 */
async function decisionFigures(db: SqlRunner, p: ReportPeriod) {
  // A period holding a good part of all decisions walks case_decisions_groups (migration 0530), already in
  // group order, and filters the time from it (`+ 0` keeps the planner off the time index); a short one
  // reads its range of the time index and sorts the few rows it finds. MIN/MAX are two index probes.
  const span = await db.get<{ lo: number | null; hi: number | null }>('SELECT MIN(decided_at) AS lo, MAX(decided_at) AS hi FROM case_decisions');
  const lo = n(span?.lo);
  const hi = n(span?.hi);
  const covered = Math.min(p.to, hi + 1) - Math.max(p.from, lo);
  const long = covered * 8 >= hi + 1 - lo;
  const time = long ? 'decided_at + 0' : 'decided_at';
  const groups = await db.all<{ source: string; category: string; ground: string; mask: number; det: number; ad: string; count: number }>(
    `SELECT source, category, ground, restriction_mask AS mask, automated_detection AS det, automated_decision AS ad, COUNT(*) AS count
     FROM case_decisions WHERE ${time} >= ? AND ${time} < ? GROUP BY source, category, ground, restriction_mask, automated_detection, automated_decision`,
    [p.from, p.to],
  );
  const own = new Map<string, MeasureRow & { ground: string }>();
  const t = { detected: 0, fully: 0, held: 0, confirmed: 0, blocked: 0, orderRemovals: 0, specificRemovals: 0, suspended: 0, terminated: 0 };
  for (const g of groups) {
    const mask = n(g.mask);
    const count = n(g.count);
    const restricted = mask !== 0;
    if (n(g.det) === 1 && restricted) t.detected += count;
    if (g.ad === 'AUTOMATED_DECISION_FULLY') t.fully += count;
    if (HELD_SOURCES.has(g.source)) {
      t.held += count;
      if (restricted) t.confirmed += count;
    }
    if (g.source === 'automated') t.blocked += count;
    if (g.source === 'removal_order' && restricted) t.orderRemovals += count;
    if (has(mask, 'suspend_account')) t.suspended += count;
    if (has(mask, 'terminate_account')) t.terminated += count;
    if (!OWN_INITIATIVE_SOURCES.has(g.source) || !restricted) continue;
    if (has(mask, 'remove') || has(mask, 'geo_restrict')) t.specificRemovals += count;
    const key = `${g.ground}|${g.category}`;
    const m = own.get(key) ?? { ground: g.ground, category: g.category as StatementCategory, measures: 0, automatedDetection: 0, removal: 0, disable: 0, demoted: 0, ageRestricted: 0, interactionRestricted: 0, labelled: 0, visibilityOther: 0, monetarySuspension: 0, monetaryTermination: 0, monetaryOther: 0, provisionSuspension: 0, provisionTermination: 0, accountSuspension: 0, accountTermination: 0 };
    m.measures += count;
    m.automatedDetection += n(g.det) * count;
    const add = (field: keyof MeasureRow, kind: keyof typeof RESTRICTION_BITS) => {
      if (has(mask, kind)) (m[field] as number) += count;
    };
    add('removal', 'remove');
    add('disable', 'geo_restrict');
    add('demoted', 'demote');
    add('ageRestricted', 'age_restrict');
    add('labelled', 'label');
    add('monetaryTermination', 'demonetise');
    add('accountSuspension', 'suspend_account');
    add('accountTermination', 'terminate_account');
    own.set(key, m);
  }
  const rows = (ground: string) =>
    [...own.values()]
      .filter((m) => m.ground === ground)
      .map(({ ground: _ground, ...m }) => m)
      .sort((a, b) => CATEGORIES.indexOf(a.category) - CATEGORIES.indexOf(b.category));
  const appealed = await db.get<{ appealed: number; reversed: number }>(
    `SELECT COUNT(DISTINCT a.decision_id) AS appealed, COUNT(DISTINCT CASE WHEN a.outcome = 'reversed' THEN a.decision_id END) AS reversed
     FROM case_appeals a JOIN case_decisions d ON d.id = a.decision_id
     WHERE d.automated_decision = 'AUTOMATED_DECISION_FULLY' AND d.decided_at >= ? AND d.decided_at < ?`,
    [p.from, p.to],
  );
  return { illegal: rows('illegal'), terms: rows('incompatible'), ...t, appealed: n(appealed?.appealed), reversedAutomated: n(appealed?.reversed) };
}

async function complaints(db: SqlRunner, p: ReportPeriod) {
  const rows = await db.all<{ state: string; outcome: string | null; received_at: number; decided_at: number | null; complainant_kind: string; ground: string; automated_decision: string; source: string; legal_basis: string }>(
    `SELECT a.state, a.outcome, a.received_at, a.decided_at, a.complainant_kind, d.ground, d.automated_decision, d.source, d.legal_basis
     FROM case_appeals a JOIN case_decisions d ON d.id = a.decision_id WHERE a.received_at >= ? AND a.received_at < ?`,
    [p.from, p.to],
  );
  return { rows, decided: rows.filter((r) => r.state === 'decided') };
}

/** Cases received in the period by time to decision, counted in SQL (one row per source, basis and bucket). */
async function buckets(db: SqlRunner, p: ReportPeriod) {
  const t = 'decided_at - received_at';
  const rows = await db.all<{ source: string; netzdg: number; bucket: keyof Omit<Buckets, 'total'>; count: number }>(
    `SELECT source, CASE WHEN legal_basis LIKE 'netzdg%' THEN 1 ELSE 0 END AS netzdg,
       CASE WHEN decided_at IS NULL THEN 'pending' WHEN ${t} <= ${24 * HOUR} THEN 'within24h' WHEN ${t} <= ${48 * HOUR} THEN 'within48h' WHEN ${t} <= ${7 * 24 * HOUR} THEN 'withinWeek' ELSE 'later' END AS bucket,
       COUNT(*) AS count
     FROM cases WHERE received_at >= ? AND received_at < ? AND source <> 'automated' GROUP BY 1, 2, 3`,
    [p.from, p.to],
  );
  const all = emptyBuckets();
  const netzdg = emptyBuckets();
  const bySource: Record<string, Buckets> = {};
  for (const r of rows) {
    const count = n(r.count);
    const s = (bySource[r.source] ??= emptyBuckets());
    for (const target of [all, s, ...(n(r.netzdg) === 1 ? [netzdg] : [])]) {
      target[r.bucket] += count;
      target.total += count;
    }
  }
  return { all, netzdg, bySource };
}

const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

export async function computeReport(db: SqlRunner, period: ReportPeriod, now: number): Promise<TransparencyReport> {
  const [o, ns, a, c, b] = [await orders(db, period, now), await notices(db, period), await decisionFigures(db, period), await complaints(db, period), await buckets(db, period)];
  const times = c.decided.filter((r) => r.decided_at !== null).map((r) => n(r.decided_at) - n(r.received_at));
  const tcoComplaints = c.rows.filter((r) => r.legal_basis === 'tco' || r.source === 'automated' || r.source.endsWith('_hold'));
  return {
    period: { from: isoDay(period.from), to: isoDay(period.to - 1), fromMs: period.from, toMs: period.to },
    generatedAt: new Date(now).toISOString(),
    dsa: {
      orders: o.orderRows,
      notices: ns,
      ownInitiativeIllegal: a.illegal,
      ownInitiativeTerms: a.terms,
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
        suspensionsImposed: a.suspended,
        terminationsImposed: a.terminated,
      },
      automated: {
        measuresAfterAutomatedDetection: a.detected,
        decisionsFullyAutomated: a.fully,
        fullyAutomatedAppealed: a.appealed,
        fullyAutomatedReversed: a.reversedAutomated,
        automatedErrorRate: a.appealed ? a.reversedAutomated / a.appealed : null,
        heldReviewed: a.held,
        heldConfirmed: a.confirmed,
        heldPrecision: a.held ? a.confirmed / a.held : null,
      },
    },
    tco: {
      measures: [
        'Every upload is hashed (PDQ, vPDQ, MD5, SHA-256, URL rules) and matched against banks of known terrorist content shared by the industry before it is published; matches are blocked or held for a person to review.',
        'Published content is re-checked against newly added hashes (retro-sweep); crisis incidents hold uploads near an incident’s hashes for review.',
        'Removal orders from competent authorities are authenticated by each authority’s registered key and handled against a one-hour clock.',
      ],
      reuploadsBlocked: a.blocked,
      itemsRemovedUnderOrders: a.orderRemovals,
      itemsRemovedBySpecificMeasures: a.specificRemovals,
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
