/**
 * Turns a decision into its statement of reasons in the Transparency Database's fields (mapping of our
 * restrictions onto decision_visibility / decision_monetary / decision_account, of our sources onto
 * source_type, of automation onto automated_detection / automated_decision). What the uploader is shown
 * is the same statement plus the redress open to them (DSA Art. 17(3)(f)).
 */
import {
  EUROPEAN_COUNTRY_CODES,
  type AutomatedDecision,
  type ContentType,
  type DecisionVisibility,
  type Keyword,
  type SourceType,
  type StatementCategory,
} from '@doublelock/protocol/dsa';
import type { DecisionGroundInput, Restriction } from '@doublelock/protocol/cases';
import { CONTENT_LANGUAGES } from '@doublelock/protocol/dsa';
import type { CaseSource } from './legalBasis.ts';
import { tdbDate, type StatementOfReasons } from './statementOfReasons.ts';

const VISIBILITY: Partial<Record<Restriction['type'], DecisionVisibility>> = {
  remove: 'DECISION_VISIBILITY_CONTENT_REMOVED',
  geo_restrict: 'DECISION_VISIBILITY_CONTENT_DISABLED',
  demote: 'DECISION_VISIBILITY_CONTENT_DEMOTED',
  age_restrict: 'DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED',
  label: 'DECISION_VISIBILITY_CONTENT_LABELLED',
};

export const SOURCE_TYPES: Record<CaseSource, SourceType> = {
  notice: 'SOURCE_ARTICLE_16',
  trusted_flagger: 'SOURCE_TRUSTED_FLAGGER',
  removal_order: 'SOURCE_TYPE_OTHER_NOTIFICATION',
  franked_report: 'SOURCE_TYPE_OTHER_NOTIFICATION',
  upload_hold: 'SOURCE_VOLUNTARY',
  sweep_hold: 'SOURCE_VOLUNTARY',
  crisis_hold: 'SOURCE_VOLUNTARY',
  automated: 'SOURCE_VOLUNTARY',
};

/** Sources where the content was found by automated means (hash matching). */
export const AUTOMATED_SOURCES: ReadonlySet<CaseSource> = new Set(['upload_hold', 'sweep_hold', 'crisis_hold', 'automated']);

export interface StatementInput {
  decisionId: number;
  deploymentId: string;
  source: CaseSource;
  /** organisation of a trusted flagger, or "authority name (member state)" for an order; never a person */
  sourceIdentity: string | null;
  actions: Restriction[];
  ground: DecisionGroundInput;
  category: StatementCategory;
  keywords: Keyword[];
  facts: string;
  contentTypes: ContentType[];
  contentKind: string;
  language?: string | undefined;
  contentDate: number;
  decidedAt: number;
  automatedDecision: AutomatedDecision;
  termsUrl: string;
}

/** The EEA territories a restriction covers: those of a geo-restriction, or all of them. */
export function territorialScope(actions: readonly Restriction[]): string[] {
  const geo = actions.filter((a): a is Extract<Restriction, { type: 'geo_restrict' }> => a.type === 'geo_restrict');
  if (geo.length === 0 || actions.some((a) => a.type !== 'geo_restrict' && a.type !== 'label')) return [...EUROPEAN_COUNTRY_CODES];
  const wanted = new Set(geo.flatMap((g) => g.territories));
  return EUROPEAN_COUNTRY_CODES.filter((c) => wanted.has(c));
}

export const puidOf = (deploymentId: string, decisionId: number) => `${deploymentId}-sor-${decisionId}`;

export function buildStatement(input: StatementInput): StatementOfReasons {
  const visibility = [...new Set(input.actions.map((a) => VISIBILITY[a.type]).filter((v): v is DecisionVisibility => !!v))];
  const suspend = input.actions.find((a): a is Extract<Restriction, { type: 'suspend_account' }> => a.type === 'suspend_account');
  const terminate = input.actions.some((a) => a.type === 'terminate_account');
  const demonetise = input.actions.some((a) => a.type === 'demonetise');
  const g = input.ground;
  const contentTypes: ContentType[] = input.contentKind === 'account' ? ['CONTENT_TYPE_OTHER'] : input.contentTypes.length ? input.contentTypes : ['CONTENT_TYPE_TEXT'];
  const s: StatementOfReasons = {
    ...(visibility.length && { decision_visibility: visibility }),
    ...(demonetise && { decision_monetary: 'DECISION_MONETARY_TERMINATION' as const }),
    ...(terminate ? { decision_account: 'DECISION_ACCOUNT_TERMINATED' as const } : suspend ? { decision_account: 'DECISION_ACCOUNT_SUSPENDED' as const } : {}),
    ...(suspend?.until && !terminate && { end_date_account_restriction: tdbDate(suspend.until) }),
    decision_ground: g.kind === 'illegal' ? 'DECISION_GROUND_ILLEGAL_CONTENT' : 'DECISION_GROUND_INCOMPATIBLE_CONTENT',
    ...(g.kind === 'illegal' && { illegal_content_legal_ground: g.law, illegal_content_explanation: g.explanation }),
    ...(g.kind === 'incompatible' && {
      incompatible_content_ground: g.term,
      incompatible_content_explanation: g.explanation,
      incompatible_content_illegal: g.alsoIllegal ? ('Yes' as const) : ('No' as const),
      decision_ground_reference_url: input.termsUrl,
    }),
    content_type: contentTypes,
    ...(input.contentKind === 'account' && { content_type_other: 'Account' }),
    category: input.category,
    ...(input.keywords.length && { category_specification: input.keywords }),
    territorial_scope: territorialScope(input.actions),
    ...(input.language && CONTENT_LANGUAGES.includes(input.language) && { content_language: input.language }),
    content_date: tdbDate(Math.max(input.contentDate, Date.UTC(2000, 0, 1))),
    application_date: tdbDate(input.decidedAt),
    decision_facts: input.facts,
    source_type: SOURCE_TYPES[input.source],
    ...(input.sourceIdentity && SOURCE_TYPES[input.source] !== 'SOURCE_VOLUNTARY' && SOURCE_TYPES[input.source] !== 'SOURCE_ARTICLE_16' && { source_identity: input.sourceIdentity }),
    automated_detection: AUTOMATED_SOURCES.has(input.source) ? 'Yes' : 'No',
    automated_decision: input.automatedDecision,
    puid: puidOf(input.deploymentId, input.decisionId),
  };
  // A ground of "none" only comes with no restriction, and then no statement is made.
  if (g.kind === 'none') throw new TypeError('a restriction needs a ground: illegal (which law) or incompatible (which term)');
  return s;
}
