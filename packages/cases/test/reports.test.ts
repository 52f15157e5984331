/**
 * Every number of a transparency report equals a count the test made itself. A seeded random history
 * (notices from users and trusted flaggers, removal orders, held uploads, automated blocks and labels,
 * decisions with every kind of restriction, orders that cannot be complied with, appeals upheld and
 * reversed, time passing from minutes to days, some of it before the period) is driven through the
 * workflow's own functions under a fake clock, while the test writes down in a ledger what it did and
 * when. The report is then computed from the database, and each figure is compared with the figure the
 * ledger gives by the definition the report states — the report never sees the ledger.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import type { Restriction } from '@doublelock/protocol/cases';
import type { StatementCategory } from '@doublelock/protocol/dsa';
import type { Db } from '@doublelock/store';
import { dialectCases } from '@doublelock/store/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appealNotice, appealStatement, claimAppeal, decideAppeal } from '../src/appeals.ts';
import { signAuthorityRequest, verifyAuthorityRequest } from '../src/authority.ts';
import { cannotComply, decide, recordAutomatedDecision, RESTRICTION_BITS } from '../src/decisions.ts';
import { intakeHeld, submitNotice, submitRemovalOrder, submitTrustedFlag } from '../src/intake.ts';
import { claimCase } from '../src/queue.ts';
import { median, type Buckets, type MeasureRow } from '../src/reports/compute.ts';
import { dsaTemplateCsv, netzdgCsv, tcoCsv } from '../src/reports/dsaTemplate.ts';
import { reportChart } from '../src/reports/charts.ts';
import { DAY, FakeClock, HOUR, makeCases, MINUTE, T0 } from './fixtures.ts';

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CATS: StatementCategory[] = ['STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY', 'STATEMENT_CATEGORY_VIOLENCE', 'STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH'];
const MENU: Restriction[][] = [
  [{ type: 'remove' }],
  [{ type: 'label', label: 'graphic violence' }],
  [{ type: 'geo_restrict', territories: ['DE', 'FR'] }],
  [{ type: 'demote' }, { type: 'demonetise' }],
  [{ type: 'age_restrict', minimumAge: 18 }],
  [{ type: 'remove' }, { type: 'suspend_account', until: null }],
  [{ type: 'remove' }, { type: 'terminate_account' }],
  [],
];

type Source = 'notice' | 'trusted_flagger' | 'removal_order' | 'upload_hold' | 'automated';
interface LedgerDecision {
  id: number;
  at: number;
  mask: number;
  ground: 'illegal' | 'incompatible' | 'none';
  category: StatementCategory;
  fully: boolean;
  cannot: boolean;
  statementId: number | null;
}
interface LedgerCase {
  id: number;
  source: Source;
  netzdg: boolean;
  post: string;
  owner: string;
  receivedAt: number;
  dueAt: number;
  decision: LedgerDecision | null;
  notices: Array<{ kind: 'article16' | 'trusted_flagger'; category: StatementCategory; at: number; receipt: string }>;
}
interface LedgerAppeal {
  id: number;
  caseId: number;
  kind: 'uploader' | 'notifier';
  at: number;
  decidedAt: number | null;
  outcome: 'upheld' | 'reversed' | null;
}

describe.each(dialectCases())('transparency reports on $name', ({ open }) => {
  let db: Db;
  let clock: FakeClock;
  let env: ReturnType<typeof makeCases>;
  const authority = ed25519.utils.randomSecretKey();

  beforeEach(async () => {
    db = await open();
    clock = new FakeClock(T0 - 2 * DAY); // some of the history happens before the period
    env = makeCases(db, clock);
    await env.cases.authorities.register({ id: 'de-bka', name: 'Bundeskriminalamt', memberState: 'DE', publicKey: ed25519.getPublicKey(authority), contact: 'tco@bka.example' }, 'admin', clock.time);
  });
  afterEach(async () => db.close());

  it('computes every figure exactly as an independent count of a random history', async () => {
    const random = rng(20250701);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const cases = new Map<number, LedgerCase>();
    const appeals: LedgerAppeal[] = [];
    let posts = 0;
    const newPost = () => {
      const id = `q${++posts}`;
      env.shelf.add(id, `user${posts % 7}`, `post ${posts}`, clock.time - HOUR);
      return id;
    };
    const track = (id: number, source: Source, post: string, netzdg = false, dueAt = clock.time) => {
      const known = cases.get(id);
      if (known) return known;
      const c: LedgerCase = { id, source, netzdg, post, owner: env.shelf.posts.get(post)!.owner, receivedAt: clock.time, dueAt, decision: null, notices: [] };
      cases.set(id, c);
      return c;
    };
    const notice = (post: string, category: StatementCategory, law: 'dsa' | 'netzdg') => ({
      url: env.shelf.url(post),
      explanation: 'This post incites violence.',
      category,
      keywords: [],
      law,
      name: 'Nora Notifier',
      email: 'nora@example.org',
      anonymous: false,
      bonaFide: true as const,
    });

    // One notice left for more than a week, so every time bucket is filled.
    let slow: LedgerCase | undefined;
    for (let step = 0; step < 180; step++) {
      if (step === 40) {
        const post = newPost();
        const got = await submitNotice(env.ctx, notice(post, CATS[0]!, 'netzdg'), null);
        slow = track(got.caseId, 'notice', post, true);
        slow.notices.push({ kind: 'article16', category: CATS[0]!, at: clock.time, receipt: got.receiptToken });
      }
      if (step === 170 && slow) {
        const claimed = await claimCase(env.ctx, slow.id, 'mod1');
        const out = await decide(env.ctx, slow.id, 'mod1', { version: claimed.version, actions: [], ground: { kind: 'none', explanation: 'Not illegal.' }, category: CATS[0]!, keywords: [], facts: 'Satire.' });
        slow.decision = { id: out.decision.id, at: clock.time, mask: 0, ground: 'none', category: CATS[0]!, fully: false, cannot: false, statementId: null };
      }
      const r = random();
      const open = [...cases.values()].filter((c) => !c.decision && c !== slow);
      if (r < 0.2) {
        // A user's notice: usually new content, sometimes content that already has an open notice case.
        const joinable = open.filter((c) => c.source === 'notice');
        const joins = joinable.length > 0 && random() < 0.3;
        const post = joins ? pick(joinable).post : newPost();
        const category = pick(CATS);
        const law = random() < 0.3 ? 'netzdg' : 'dsa';
        const got = await submitNotice(env.ctx, notice(post, category, law), null);
        const c = track(got.caseId, 'notice', post, law === 'netzdg');
        c.notices.push({ kind: 'article16', category, at: clock.time, receipt: got.receiptToken });
      } else if (r < 0.3) {
        const post = newPost();
        const category = pick(CATS);
        const { name: _n, email: _e, anonymous: _a, ...flag } = notice(post, category, 'dsa');
        const got = await submitTrustedFlag(env.ctx, flag, 'ngo', 'Counter Extremism NGO');
        track(got.caseId, 'trusted_flagger', post).notices.push({ kind: 'trusted_flagger', category, at: clock.time, receipt: got.receiptToken });
      } else if (r < 0.4) {
        const post = newPost();
        const body = { reference: `BKA-${step}`, memberState: 'DE', issuingAuthority: 'Bundeskriminalamt', content: [{ url: env.shelf.url(post), detail: '' }], grounds: ['incitement' as const], reasons: 'Incites attacks.', feedbackContact: 'tco@bka.example', redress: 'Verwaltungsgericht Wiesbaden.' };
        const signed = signAuthorityRequest('de-bka', authority, { type: 'removal_order', provider: 'social.example', body }, clock.time);
        const got = await submitRemovalOrder(env.ctx, { ...(await verifyAuthorityRequest(env.cases.authorities, signed, 'removal_order', 'social.example', clock.time)), signature: signed.signature });
        track(got.caseIds[0]!, 'removal_order', post, false, got.dueAt);
      } else if (r < 0.46) {
        const post = newPost();
        const id = await intakeHeld(env.ctx, { source: 'upload_hold', ref: { kind: 'post', id: post }, url: env.shelf.url(post), owner: env.shelf.posts.get(post)!.owner, matches: [], pipelineRef: `upload-${step}`, summary: 'matched gifct' });
        track(id, 'upload_hold', post);
      } else if (r < 0.52) {
        const post = newPost();
        const actions: Restriction[] = random() < 0.7 ? [{ type: 'remove' }] : [{ type: 'label', label: 'tvec' }];
        const out = await recordAutomatedDecision(env.ctx, { ref: { kind: 'post', id: post }, url: env.shelf.url(post), owner: env.shelf.posts.get(post)!.owner, matches: [], pipelineRef: `decision:${step}`, actions, explanation: 'gifct (tvec)', contentDate: clock.time - HOUR, stage: 'upload' });
        const c = track(out.decision.caseId, 'automated', post);
        c.decision = { id: out.decision.id, at: clock.time, mask: actions.reduce((m, a) => m | RESTRICTION_BITS[a.type], 0), ground: 'incompatible', category: 'STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY', fully: true, cannot: false, statementId: out.statementId };
      } else if (r < 0.85 && open.length) {
        const c = pick(open);
        const claimed = await claimCase(env.ctx, c.id, 'mod1');
        if (c.source === 'removal_order' && random() < 0.2) {
          const d = await cannotComply(env.ctx, c.id, 'mod1', { version: claimed.version, reason: 'manifest_error', detail: 'The URL names another post.' });
          c.decision = { id: d.id, at: clock.time, mask: 0, ground: 'none', category: 'STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY', fully: false, cannot: true, statementId: null };
        } else {
          const actions = c.source === 'removal_order' ? [{ type: 'remove' as const }] : pick(MENU);
          const ground = actions.length === 0 ? 'none' : c.source === 'removal_order' || random() < 0.5 ? 'illegal' : 'incompatible';
          const category = pick(CATS);
          const out = await decide(env.ctx, c.id, 'mod1', {
            version: claimed.version,
            actions,
            ground: ground === 'none' ? { kind: 'none', explanation: 'Not illegal.' } : ground === 'illegal' ? { kind: 'illegal', law: 'StGB §111', explanation: 'Incitement.' } : { kind: 'incompatible', term: 'Terms §4', explanation: 'Violent content.', alsoIllegal: false },
            category,
            keywords: [],
            facts: 'The post calls for violence.',
          });
          c.decision = { id: out.decision.id, at: clock.time, mask: actions.reduce((m, a) => m | RESTRICTION_BITS[a.type], 0), ground, category, fully: false, cannot: false, statementId: out.statementId };
        }
      } else if (r < 0.92) {
        // A complaint: by the uploader about a restriction, or by a notifier about a decision on their notice.
        const byUploader = [...cases.values()].filter((c) => c.decision?.statementId && !appeals.some((a) => a.caseId === c.id));
        const byNotifier = [...cases.values()].filter((c) => c.decision && c.decision.mask === 0 && !c.decision.cannot && c.notices.length && !appeals.some((a) => a.caseId === c.id));
        if (byUploader.length && random() < 0.7) {
          const c = pick(byUploader);
          const a = await appealStatement(env.ctx, c.decision!.statementId!, c.owner, 'It was news reporting.');
          appeals.push({ id: a.id, caseId: c.id, kind: 'uploader', at: clock.time, decidedAt: null, outcome: null });
        } else if (byNotifier.length) {
          const c = pick(byNotifier);
          const a = await appealNotice(env.ctx, c.notices[0]!.receipt, 'It is clearly illegal.');
          appeals.push({ id: a.id, caseId: c.id, kind: 'notifier', at: clock.time, decidedAt: null, outcome: null });
        }
      } else {
        const pending = appeals.filter((a) => a.outcome === null);
        if (pending.length) {
          const a = pick(pending);
          const claimed = await claimAppeal(env.ctx, a.id, 'mod2');
          // A reversed "no action" opens the case again; the notifiers' complaints here are upheld.
          const outcome = a.kind === 'uploader' && random() < 0.5 ? 'reversed' : 'upheld';
          await decideAppeal(env.ctx, a.id, 'mod2', { version: claimed.version, outcome, reasons: 'Reviewed.' });
          Object.assign(a, { decidedAt: clock.time, outcome });
        }
      }
      // Time passes: mostly minutes, sometimes hours, now and then days (to fill every time bucket).
      const t = random();
      clock.advance(t < 0.7 ? Math.ceil(random() * 50) * MINUTE : t < 0.96 ? Math.ceil(random() * 10) * HOUR : Math.ceil(random() * 2) * DAY);
    }

    const period = { from: T0, to: clock.time - 3 * DAY }; // the last days fall after the period
    const inP = (t: number) => t >= period.from && t < period.to;
    const report = await env.cases.report(period);
    const all = [...cases.values()];
    const decided = all.filter((c) => c.decision);
    const reversedCases = new Set(appeals.filter((a) => a.outcome === 'reversed').map((a) => a.caseId));
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

    // The history must exercise what is being checked, or the comparison proves little.
    expect(all.filter((c) => inP(c.receivedAt)).length).toBeGreaterThan(40);
    expect(all.some((c) => !inP(c.receivedAt))).toBe(true);
    expect(appeals.filter((a) => a.outcome === 'reversed').length).toBeGreaterThan(0);

    // ---- TCO: orders received in the period; effected within the hour, late, open past the hour, not acted on.
    const orders = all.filter((c) => c.source === 'removal_order' && inP(c.receivedAt));
    const effected = orders.filter((c) => c.decision && !c.decision.cannot).map((c) => c.decision!.at - c.receivedAt);
    expect(orders.length).toBeGreaterThan(3);
    expect(report.tco).toMatchObject({
      orders: orders.length,
      ordersEffectedWithinHour: effected.filter((t) => t <= HOUR).length,
      ordersEffectedLate: effected.filter((t) => t > HOUR).length,
      ordersOverdueOpen: orders.filter((c) => !c.decision && clock.time >= c.dueAt).length,
    });
    expect(report.tco.ordersNotActedOn.length).toBe(orders.filter((c) => c.decision?.cannot).length);
    const orderTotal = report.dsa.orders.find((o) => o.memberState === 'Total');
    expect(orderTotal ? [orderTotal.orders, orderTotal.items, orderTotal.medianTimeToEffectMs] : [0, 0, null]).toEqual([orders.length, orders.length, median(effected)]);

    // ---- Decisions in the period (by decision time).
    const dIn = decided.filter((c) => inP(c.decision!.at));
    const has = (c: LedgerCase, bit: keyof typeof RESTRICTION_BITS) => (c.decision!.mask & RESTRICTION_BITS[bit]) !== 0;
    const own = dIn.filter((c) => (c.source === 'upload_hold' || c.source === 'automated') && c.decision!.mask !== 0);
    expect(report.tco.reuploadsBlocked).toBe(dIn.filter((c) => c.source === 'automated').length);
    expect(report.tco.itemsRemovedUnderOrders).toBe(dIn.filter((c) => c.source === 'removal_order' && c.decision!.mask !== 0).length);
    expect(report.tco.itemsRemovedBySpecificMeasures).toBe(own.filter((c) => has(c, 'remove') || has(c, 'geo_restrict')).length);

    for (const [ground, rows] of [['illegal', report.dsa.ownInitiativeIllegal], ['incompatible', report.dsa.ownInitiativeTerms]] as const) {
      const mine = own.filter((c) => c.decision!.ground === ground);
      expect(sum(rows.map((r) => r.measures))).toBe(mine.length);
      for (const category of CATS) {
        const inCat = mine.filter((c) => c.decision!.category === category);
        const row = rows.find((r) => r.category === category);
        if (!inCat.length) {
          expect(row).toBeUndefined();
          continue;
        }
        const count = (bit: keyof typeof RESTRICTION_BITS) => inCat.filter((c) => has(c, bit)).length;
        expect(row).toEqual<MeasureRow>({
          category,
          measures: inCat.length,
          automatedDetection: inCat.length, // every own-initiative case here was detected by hash matching
          removal: count('remove'),
          disable: count('geo_restrict'),
          demoted: count('demote'),
          ageRestricted: count('age_restrict'),
          interactionRestricted: 0,
          labelled: count('label'),
          visibilityOther: 0,
          monetarySuspension: 0,
          monetaryTermination: count('demonetise'),
          monetaryOther: 0,
          provisionSuspension: 0,
          provisionTermination: 0,
          accountSuspension: count('suspend_account'),
          accountTermination: count('terminate_account'),
        });
      }
    }

    const held = dIn.filter((c) => c.source === 'upload_hold');
    const fully = dIn.filter((c) => c.decision!.fully);
    const fullyAppealed = fully.filter((c) => appeals.some((a) => a.caseId === c.id));
    expect(report.dsa.automated).toEqual({
      measuresAfterAutomatedDetection: own.length,
      decisionsFullyAutomated: fully.length,
      fullyAutomatedAppealed: fullyAppealed.length,
      fullyAutomatedReversed: fullyAppealed.filter((c) => reversedCases.has(c.id)).length,
      automatedErrorRate: fullyAppealed.length ? fullyAppealed.filter((c) => reversedCases.has(c.id)).length / fullyAppealed.length : null,
      heldReviewed: held.length,
      heldConfirmed: held.filter((c) => c.decision!.mask !== 0).length,
      heldPrecision: held.length ? held.filter((c) => c.decision!.mask !== 0).length / held.length : null,
    });

    // ---- Notices received in the period, by the category the notifier chose.
    const notices = all.flatMap((c) => c.notices.map((n) => ({ ...n, c }))).filter((n) => inP(n.at));
    expect(notices.length).toBeGreaterThan(10);
    expect(sum(report.dsa.notices.map((r) => r.received))).toBe(notices.length);
    for (const category of CATS) {
      const mine = notices.filter((n) => n.category === category);
      const tf = mine.filter((n) => n.kind === 'trusted_flagger');
      const acted = (ns: typeof mine, ground: string) => new Set(ns.filter((n) => n.c.decision && n.c.decision.mask !== 0 && n.c.decision.ground === ground).map((n) => n.c.id)).size;
      const times = (ns: typeof mine) => ns.filter((n) => n.c.decision).map((n) => n.c.decision!.at - n.at);
      const expected = {
        category,
        received: mine.length,
        fromTrustedFlaggers: tf.length,
        items: new Set(mine.map((n) => n.c.id)).size,
        itemsTrustedFlaggers: new Set(tf.map((n) => n.c.id)).size,
        medianTimeToActionMs: median(times(mine)),
        medianTimeToActionTrustedFlaggersMs: median(times(tf)),
        actionsLaw: acted(mine, 'illegal'),
        actionsLawTrustedFlaggers: acted(tf, 'illegal'),
        actionsTerms: acted(mine, 'incompatible'),
        actionsTermsTrustedFlaggers: acted(tf, 'incompatible'),
      };
      expect(report.dsa.notices.find((r) => r.category === category)).toEqual(mine.length ? expected : undefined);
    }

    // ---- Complaints received in the period.
    const aIn = appeals.filter((a) => inP(a.at));
    const groundOf = (a: LedgerAppeal) => cases.get(a.caseId)!.decision!.ground;
    expect(report.dsa.complaints).toEqual({
      received: aIn.length,
      byUploaders: aIn.filter((a) => a.kind === 'uploader').length,
      byNotifiers: aIn.filter((a) => a.kind === 'notifier').length,
      aboutIllegalContent: aIn.filter((a) => groundOf(a) === 'illegal').length,
      aboutTermsAndConditions: aIn.filter((a) => groundOf(a) === 'incompatible').length,
      decided: aIn.filter((a) => a.outcome).length,
      upheld: aIn.filter((a) => a.outcome === 'upheld').length,
      reversed: aIn.filter((a) => a.outcome === 'reversed').length,
      pending: aIn.filter((a) => !a.outcome).length,
      medianTimeToDecideMs: median(aIn.filter((a) => a.outcome).map((a) => a.decidedAt! - a.at)),
      suspensionsImposed: dIn.filter((c) => has(c, 'suspend_account')).length,
      terminationsImposed: dIn.filter((c) => has(c, 'terminate_account')).length,
    });
    const tcoAppeals = aIn.filter((a) => ['removal_order', 'automated', 'upload_hold'].includes(cases.get(a.caseId)!.source));
    expect([report.tco.complaints, report.tco.complaintsReversed, report.tco.reinstatements]).toEqual([
      tcoAppeals.length,
      tcoAppeals.filter((a) => a.outcome === 'reversed').length,
      tcoAppeals.filter((a) => a.outcome === 'reversed' && a.kind === 'uploader').length,
    ]);

    // ---- NetzDG-style buckets: cases received in the period (automated ones excepted), by time to decision.
    const bucket = (c: LedgerCase): keyof Omit<Buckets, 'total'> => {
      if (!c.decision) return 'pending';
      const t = c.decision.at - c.receivedAt;
      return t <= DAY ? 'within24h' : t <= 2 * DAY ? 'within48h' : t <= 7 * DAY ? 'withinWeek' : 'later';
    };
    const buckets = (cs: LedgerCase[]): Buckets => {
      const b: Buckets = { within24h: 0, within48h: 0, withinWeek: 0, later: 0, pending: 0, total: cs.length };
      for (const c of cs) b[bucket(c)]++;
      return b;
    };
    const bucketed = all.filter((c) => inP(c.receivedAt) && c.source !== 'automated');
    expect(report.netzdg.all).toEqual(buckets(bucketed));
    expect(report.netzdg.netzdgNotices).toEqual(buckets(bucketed.filter((c) => c.netzdg)));
    const sources = [...new Set(bucketed.map((c) => c.source))].sort();
    expect(Object.keys(report.netzdg.bySource).sort()).toEqual(sources);
    for (const s of sources) expect(report.netzdg.bySource[s]).toEqual(buckets(bucketed.filter((c) => c.source === s)));
    expect(Object.values(report.netzdg.all).every((v) => v > 0)).toBe(true);

    // ---- A short period reads the time index, a long one the group index (compute.ts decisionFigures):
    // the decision figures of ten short slices add up to the whole period's.
    const slices = await Promise.all(Array.from({ length: 10 }, (_, i) => env.cases.report({ from: period.from + Math.floor(((period.to - period.from) * i) / 10), to: period.from + Math.floor(((period.to - period.from) * (i + 1)) / 10) })));
    const figures = (r: typeof report) => [
      sum([...r.dsa.ownInitiativeIllegal, ...r.dsa.ownInitiativeTerms].map((m) => m.measures)),
      sum([...r.dsa.ownInitiativeIllegal, ...r.dsa.ownInitiativeTerms].map((m) => m.removal + m.disable + m.labelled + m.accountSuspension)),
      r.dsa.automated.measuresAfterAutomatedDetection,
      r.dsa.automated.decisionsFullyAutomated,
      r.dsa.automated.heldReviewed,
      r.tco.reuploadsBlocked,
    ];
    expect(slices.map(figures).reduce((a, b) => a.map((x, i) => x + b[i]!))).toEqual(figures(report));

    // ---- The CSV and SVG editions carry the same numbers.
    const csv = dsaTemplateCsv(report, { service: 'social.example', provider: 'Social Example Ltd' });
    const totalRow = (text: string) => text.split('\r\n').find((l) => l.includes(',Total,'))!.split(',');
    const illegalTotal = totalRow(csv['part5_own_initiative_illegal.csv']!);
    expect(Number(illegalTotal[5])).toBe(own.filter((c) => c.decision!.ground === 'illegal').length);
    const noticeLines = csv['part4_notices.csv']!.trim().split('\r\n').slice(1);
    expect(sum(noticeLines.map((l) => Number(l.split(',')[5])))).toBe(notices.length);
    expect(tcoCsv(report)).toContain(`Removal orders received,Total,${orders.length}\r\n`);
    expect(netzdgCsv(report)).toContain(`All cases,${[report.netzdg.all.within24h, report.netzdg.all.within48h, report.netzdg.all.withinWeek, report.netzdg.all.later, report.netzdg.all.pending, bucketed.length].join(',')}\r\n`);
    expect(reportChart(report)).toContain(`Notices (Art. 16) (${bucketed.filter((c) => c.source === 'notice').length})`);
  });
});
