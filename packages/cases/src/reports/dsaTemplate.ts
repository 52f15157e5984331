/**
 * The harmonised transparency-report template of Commission Implementing Regulation (EU) 2024/2835,
 * Annex I, quantitative part, as the Commission's CSV edition splits it (one file per sheet):
 * 1 report identification, 3 Member State orders, 4 notices, 5 own-initiative (illegal content),
 * 6 own-initiative (terms and conditions), 7 complaints and recidivism, 8 automated means. Column
 * headers of sheets 3–6 are the template's, character for character (trailing spaces included, as
 * published reports carry them); sheets 7 and 8 keep the template's Section / Indicator / Scope / Value /
 * Contextual Information layout with indicators named after the DSA articles they report on. Times are
 * in hours. Sheets on human resources and active recipients (Art. 42, VLOPs) are not filled: this
 * system does not know them.
 */
import { EUROPEAN_UNION_COUNTRY_CODES, STATEMENT_CATEGORY, type StatementCategory } from '@doublelock/protocol/dsa';
import type { MeasureRow, NoticeRow, TransparencyReport } from './compute.ts';

const HOUR = 3_600_000;

/** RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled; CRLF line ends. */
export function toCsv(rows: ReadonlyArray<ReadonlyArray<string | number | null>>): string {
  const field = (v: string | number | null) => {
    const s = v === null ? '' : String(v);
    return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return rows.map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}

const hours = (ms: number | null) => (ms === null ? null : Math.round((ms / HOUR) * 100) / 100);
const label = (c: StatementCategory) => STATEMENT_CATEGORY[c];
const CATEGORIES = Object.keys(STATEMENT_CATEGORY) as StatementCategory[];

export interface TemplateOptions {
  service: string;
  provider: string;
  applicability?: string;
}

function meta(report: TransparencyReport, o: TemplateOptions) {
  return { applicability: o.applicability ?? 'Online platforms', service: o.service, period: `${report.period.from} - ${report.period.to}` };
}

export const MEMBER_STATE_ORDERS_HEADER = [
  'Applicability',
  'Service',
  'Reporting period',
  'Category of illegal content',
  'Description of the sub-category "Other"',
  'Scope',
  'Number of orders to act against illegal content received',
  'Number of specific items of information included in the total number of orders to act against illegal content',
  'Median time to inform the authority of the receipt of the order to act against illegal content',
  'Median time to give effect to the order to act against illegal content',
  'Number of orders to provide information',
  'Median time to inform the authority of the receipt of the order to provide information',
  'Median time to give effect to the order to provide information',
  'Contextual information on number of orders to act against illegal content received',
  'Contextual information on number of specific items of information included in the total number of orders to act against illegal content',
  'Contextual information on Median time to inform the authority of the receipt of the order to act against illegal content',
  'Contextual information on Median time to give effect to the order to act against illegal content',
  'Contextual information on Number of orders to provide information',
  'Contextual information on Median time to inform the authority of the receipt of the order to provide information',
  'Contextual information on Median time to give effect to the order to provide information',
];

/** The ten notice measures, each of which the template repeats with a "Contextual information on" column. */
const NOTICE_MEASURES = [
  'Number of notices received ',
  'Number of notices received from Trusted flaggers',
  'Number of specific items of information included in the total number of notices',
  'Number of specific items of information included in the total number of notices by Trusted Flaggers (Trusted Flagger notices)',
  'Median time to take action',
  'Median time to take action (Trusted Flagger notices)',
  'Number of actions taken on the basis of the law',
  'Number of actions taken on the basis of the law (Trusted Flagger notices)',
  'Number of actions taken on the basis of the terms and conditions of the service',
  'Number of actions taken on the basis of the terms and conditions of the service (Trusted Flagger notices)',
];

export const NOTICES_HEADER = [
  'Applicability',
  'Service',
  'Reporting period',
  'Category of illegal content',
  'Description of the sub-category "Other"',
  ...NOTICE_MEASURES,
  ...NOTICE_MEASURES.map((h) => `Contextual information on ${h}`),
];

const MEASURE_COLUMNS = [
  "Number of measures taken at the provider's own initiative ",
  'Number of measures taken after detection with solely automated means ',
  'Visibility restriction Removal',
  'Visibility restriction Disable',
  'Visibility restriction Demoted',
  'Visibility restriction Age restricted',
  'Visibility restriction Interaction restricted',
  'Visibility restriction Labelled ',
  'Visibility restriction Other',
  'Monetary restriction Suspension',
  'Monetary restriction Termination',
  'Monetary restriction Other',
  'Provision of the service Suspension',
  'Provision of the service Termination',
  'Account restriction Suspension',
  'Account restriction Termination',
];

export const OWN_INITIATIVE_ILLEGAL_HEADER = ['Applicability', 'Service', 'Reporting period', 'Category of illegal content', 'Description of the sub-category "Other"', ...MEASURE_COLUMNS, ...MEASURE_COLUMNS.map((c) => `Contextual Information on ${c}`)];
export const OWN_INITIATIVE_TC_HEADER = ['Applicability', 'Service', 'Reporting period', "Category of incompatibility with the provider's terms and conditions", 'Description of the sub-category "Other"', ...MEASURE_COLUMNS, ...MEASURE_COLUMNS.map((c) => `Contextual Information on ${c}`)];
export const INDICATOR_HEADER = ['Applicability', 'Service', 'Reporting period', 'Section', 'Indicator', 'Scope', 'Value', 'Contextual Information'];

function memberStateOrders(report: TransparencyReport, o: TemplateOptions): string {
  const m = meta(report, o);
  const rows: Array<Array<string | number | null>> = [MEMBER_STATE_ORDERS_HEADER];
  const context = ['', '', 'Receipt is confirmed in the response to the signed order', 'Hours', '', '', ''];
  for (const category of CATEGORIES) {
    for (const scope of ['Total', ...EUROPEAN_UNION_COUNTRY_CODES]) {
      const r = report.dsa.orders.find((x) => x.category === category && x.memberState === scope);
      rows.push([m.applicability, m.service, m.period, label(category), '', scope, r?.orders ?? 0, r?.items ?? 0, r ? hours(r.medianTimeToInformMs) : null, r ? hours(r.medianTimeToEffectMs) : null, 0, null, null, ...(r ? context : Array(7).fill(''))]);
    }
  }
  return toCsv(rows);
}

function noticeRow(m: ReturnType<typeof meta>, category: string, r: Omit<NoticeRow, 'category'>): Array<string | number | null> {
  return [
    m.applicability,
    m.service,
    m.period,
    category,
    '',
    r.received,
    r.fromTrustedFlaggers,
    r.items,
    r.itemsTrustedFlaggers,
    hours(r.medianTimeToActionMs),
    hours(r.medianTimeToActionTrustedFlaggersMs),
    r.actionsLaw,
    r.actionsLawTrustedFlaggers,
    r.actionsTerms,
    r.actionsTermsTrustedFlaggers,
    '', '', '', '', 'Hours', 'Hours', '', '', '', '',
  ];
}

function noticesCsv(report: TransparencyReport, o: TemplateOptions): string {
  const m = meta(report, o);
  const rows: Array<Array<string | number | null>> = [NOTICES_HEADER];
  for (const category of CATEGORIES) {
    const r = report.dsa.notices.find((x) => x.category === category);
    rows.push(noticeRow(m, label(category), r ?? { received: 0, fromTrustedFlaggers: 0, items: 0, itemsTrustedFlaggers: 0, medianTimeToActionMs: null, medianTimeToActionTrustedFlaggersMs: null, actionsLaw: 0, actionsLawTrustedFlaggers: 0, actionsTerms: 0, actionsTermsTrustedFlaggers: 0 }));
  }
  return toCsv(rows);
}

const measureValues = (r: MeasureRow | undefined) =>
  r
    ? [r.measures, r.automatedDetection, r.removal, r.disable, r.demoted, r.ageRestricted, r.interactionRestricted, r.labelled, r.visibilityOther, r.monetarySuspension, r.monetaryTermination, r.monetaryOther, r.provisionSuspension, r.provisionTermination, r.accountSuspension, r.accountTermination]
    : Array(16).fill(0);

function measuresCsv(report: TransparencyReport, o: TemplateOptions, header: string[], rowsIn: MeasureRow[]): string {
  const m = meta(report, o);
  const rows: Array<Array<string | number | null>> = [header];
  const total = rowsIn.reduce((sum, r) => measureValues(r).map((v, i) => v + sum[i]!), Array(16).fill(0) as number[]);
  for (const category of CATEGORIES) rows.push([m.applicability, m.service, m.period, label(category), '', ...measureValues(rowsIn.find((r) => r.category === category)), ...Array(16).fill('')]);
  rows.push([m.applicability, m.service, m.period, 'Total', '', ...total, ...Array(16).fill('')]);
  return toCsv(rows);
}

function complaintsCsv(report: TransparencyReport, o: TemplateOptions): string {
  const m = meta(report, o);
  const c = report.dsa.complaints;
  const s20 = 'Internal complaint-handling system (Article 20)';
  const s21 = 'Out-of-court dispute settlement (Article 21)';
  const s23 = 'Suspensions (Article 23)';
  const row = (section: string, indicator: string, scope: string, value: number | null, context = '') => [m.applicability, m.service, m.period, section, indicator, scope, value, context];
  return toCsv([
    INDICATOR_HEADER,
    row(s20, 'Number of complaints received', 'Total', c.received),
    row(s20, 'Number of complaints received', 'From recipients whose content or account was restricted', c.byUploaders),
    row(s20, 'Number of complaints received', 'From notifiers', c.byNotifiers),
    row(s20, 'Number of complaints received', 'Decisions on the basis of the law', c.aboutIllegalContent),
    row(s20, 'Number of complaints received', 'Decisions on the basis of the terms and conditions', c.aboutTermsAndConditions),
    row(s20, 'Number of decisions on complaints', 'Total', c.decided),
    row(s20, 'Number of initial decisions upheld', 'Total', c.upheld),
    row(s20, 'Number of initial decisions reversed', 'Total', c.reversed),
    row(s20, 'Number of complaints pending', 'Total', c.pending),
    row(s20, 'Median time to decide on a complaint', 'Total', hours(c.medianTimeToDecideMs), 'Hours'),
    row(s21, 'Number of disputes submitted to out-of-court dispute settlement bodies', 'Total', null, 'Not known to the provider unless a body reports it; the route is named in every decision.'),
    row(s23, 'Number of suspensions of accounts that frequently provide manifestly illegal content', 'Total', c.suspensionsImposed),
    row(s23, 'Number of account terminations', 'Total', c.terminationsImposed),
    row(s23, 'Number of suspensions of notifiers that frequently submit manifestly unfounded notices', 'Total', 0),
  ]);
}

function automatedCsv(report: TransparencyReport, o: TemplateOptions): string {
  const m = meta(report, o);
  const a = report.dsa.automated;
  const s1 = 'Use of automated means for content moderation';
  const s2 = 'Indicators of accuracy and possible rate of error';
  const row = (section: string, indicator: string, scope: string, value: number | null, context = '') => [m.applicability, m.service, m.period, section, indicator, scope, value, context];
  const pct = (x: number | null) => (x === null ? null : Math.round(x * 10000) / 100);
  return toCsv([
    INDICATOR_HEADER,
    row(s1, 'Number of measures taken after detection with automated means', 'Total', a.measuresAfterAutomatedDetection, 'Hash matching against banks of known terrorist content (PDQ, vPDQ, MD5, SHA-256, URL rules)'),
    row(s1, 'Number of decisions taken solely by automated means', 'Total', a.decisionsFullyAutomated, 'Uploads blocked by the upload check'),
    row(s2, 'Automated decisions appealed', 'Total', a.fullyAutomatedAppealed),
    row(s2, 'Automated decisions reversed on appeal', 'Total', a.fullyAutomatedReversed),
    row(s2, 'Rate of error of automated decisions', 'Reversed / appealed', pct(a.automatedErrorRate), 'Percent'),
    row(s2, 'Automatically held items reviewed by a person', 'Total', a.heldReviewed),
    row(s2, 'Automatically held items confirmed by a person', 'Total', a.heldConfirmed),
    row(s2, 'Accuracy of automated detection', 'Confirmed / reviewed', pct(a.heldPrecision), 'Percent'),
  ]);
}

function identificationCsv(report: TransparencyReport, o: TemplateOptions): string {
  const a = o.applicability ?? 'Online platforms';
  return toCsv([
    ['Applicability', 'Service', 'Indicator', 'Value'],
    [a, o.service, 'Name of the provider', o.provider],
    [a, o.service, 'Name of the service', o.service],
    [a, o.service, 'Start date of the reporting period', report.period.from],
    [a, o.service, 'End date of the reporting period', report.period.to],
    [a, o.service, 'Date of generation of the report', report.generatedAt.slice(0, 10)],
  ]);
}

/** The template's sheets as CSV files, named as the Commission's CSV edition names its parts. */
export function dsaTemplateCsv(report: TransparencyReport, options: TemplateOptions): Record<string, string> {
  return {
    'part1_report_identification.csv': identificationCsv(report, options),
    'part3_member_states_orders.csv': memberStateOrders(report, options),
    'part4_notices.csv': noticesCsv(report, options),
    'part5_own_initiative_illegal.csv': measuresCsv(report, options, OWN_INITIATIVE_ILLEGAL_HEADER, report.dsa.ownInitiativeIllegal),
    'part6_own_initiative_TC.csv': measuresCsv(report, options, OWN_INITIATIVE_TC_HEADER, report.dsa.ownInitiativeTerms),
    'part7_appeals_and_recidivism.csv': complaintsCsv(report, options),
    'part8_automated_means.csv': automatedCsv(report, options),
  };
}

/** TCO Art. 7(3) and NetzDG-style buckets as CSV (indicator, scope, value). */
export function tcoCsv(report: TransparencyReport): string {
  const t = report.tco;
  return toCsv([
    ['Item (TCO Regulation Art. 7(3))', 'Scope', 'Value'],
    ...t.measures.map((m, i) => ['(a) Measures to identify and remove or disable terrorist content', `Measure ${i + 1}`, m]),
    ['(b) Measures to address the reappearance of removed content', 'Uploads blocked by hash matching', t.reuploadsBlocked],
    ['(c) Items removed or disabled', 'Following removal orders', t.itemsRemovedUnderOrders],
    ['(c) Items removed or disabled', 'Following specific measures', t.itemsRemovedBySpecificMeasures],
    ['Removal orders received', 'Total', t.orders],
    ['Removal orders complied with', 'Within one hour', t.ordersEffectedWithinHour],
    ['Removal orders complied with', 'After more than one hour', t.ordersEffectedLate],
    ['Removal orders', 'Open past their one-hour deadline', t.ordersOverdueOpen],
    ['(d) Removal orders not acted on', 'Total', t.ordersNotActedOn.length],
    ...t.ordersNotActedOn.map((x) => ['(d) Removal orders not acted on', `${x.authority} ${x.reference}`, x.reason]),
    ['(e) Complaints handled', 'Total', t.complaints],
    ['(e) Complaints handled', 'Decision reversed', t.complaintsReversed],
    ['(f) Content reinstated following a complaint', 'Total', t.reinstatements],
    ['(g) Administrative or judicial review proceedings', 'Initiated', t.legalProceedings.initiated],
    ['(g) Content reinstated following proceedings', 'Total', t.legalProceedings.contentRestoredAfterProceedings],
  ]);
}

export function netzdgCsv(report: TransparencyReport): string {
  const header = ['Scope', 'Within 24 hours', 'Within 48 hours', 'Within 7 days', 'Later', 'Not yet decided', 'Total'];
  const line = (scope: string, b: TransparencyReport['netzdg']['all']) => [scope, b.within24h, b.within48h, b.withinWeek, b.later, b.pending, b.total];
  return toCsv([header, line('Complaints under NetzDG', report.netzdg.netzdgNotices), ...Object.entries(report.netzdg.bySource).sort().map(([s, b]) => line(s, b)), line('All cases', report.netzdg.all)]);
}
