/**
 * Statements of reasons (DSA Art. 17) in the format of the EU DSA Transparency Database API, and its
 * validation rules, rule for rule: the checks of the database's StatementStoreRequest and of its batch
 * endpoint (digital-services-act/transparency-database: app/Http/Requests/StatementStoreRequest.php,
 * app/Services/GroupedSubmissionsService.php; field documentation at
 * transparency.dsa.ec.europa.eu/page/api-documentation). Each violation names the field and the rule in
 * the database's own words (`required_if:decision_ground,DECISION_GROUND_ILLEGAL_CONTENT`, `max:500`, …),
 * so a refused export says exactly what it breaks. Fields the API excludes in context (e.g.
 * source_identity for own-initiative decisions) are dropped, as the API drops them.
 *
 * One rule is ours and stricter than the API's: no statement may carry the identity of the person who
 * notified us (DSA Art. 17(3)(b) names the notifier only "where strictly necessary"; Art. 24(5) forbids
 * personal data in submissions). The caller passes the notifiers' names, e-mails and usernames, and any
 * text field that contains one is refused (`no_notifier_identity`).
 */
import {
  ACCOUNT_TYPE,
  AUTOMATED_DECISION,
  AUTOMATED_DETECTION,
  CONTENT_LANGUAGES,
  CONTENT_TYPE,
  DECISION_ACCOUNT,
  DECISION_GROUND,
  DECISION_MONETARY,
  DECISION_PROVISION,
  DECISION_VISIBILITY,
  EUROPEAN_COUNTRY_CODES,
  INCOMPATIBLE_CONTENT_ILLEGAL,
  KEYWORD,
  SOURCE_TYPE,
  STATEMENT_CATEGORY,
  TDB_BATCH_LIMIT,
  type AutomatedDecision,
  type ContentType,
  type DecisionAccount,
  type DecisionGround,
  type DecisionMonetary,
  type DecisionProvision,
  type DecisionVisibility,
  type Keyword,
  type SourceType,
  type StatementCategory,
} from '@doublelock/protocol/dsa';

/** A statement as the Transparency Database's POST /api/v1/statement takes it. */
export interface StatementOfReasons {
  decision_visibility?: DecisionVisibility[] | null;
  decision_visibility_other?: string | null;
  decision_monetary?: DecisionMonetary | null;
  decision_monetary_other?: string | null;
  decision_provision?: DecisionProvision | null;
  decision_account?: DecisionAccount | null;
  account_type?: keyof typeof ACCOUNT_TYPE | null;
  decision_ground: DecisionGround;
  decision_ground_reference_url?: string | null;
  illegal_content_legal_ground?: string | null;
  illegal_content_explanation?: string | null;
  incompatible_content_ground?: string | null;
  incompatible_content_explanation?: string | null;
  incompatible_content_illegal?: 'Yes' | 'No' | null;
  content_type: ContentType[];
  content_type_other?: string | null;
  category: StatementCategory;
  category_addition?: StatementCategory[] | null;
  category_specification?: Keyword[] | null;
  category_specification_other?: string | null;
  territorial_scope: string[];
  content_language?: string | null;
  content_date: string;
  application_date: string;
  end_date_account_restriction?: string | null;
  end_date_monetary_restriction?: string | null;
  end_date_service_restriction?: string | null;
  end_date_visibility_restriction?: string | null;
  decision_facts: string;
  source_type: SourceType;
  source_identity?: string | null;
  automated_detection: 'Yes' | 'No';
  automated_decision: AutomatedDecision;
  puid: string;
  content_id?: { 'EAN-13': string } | null;
}

export interface Violation {
  field: string;
  rule: string;
  message: string;
}

export type ValidationResult = { ok: true; statement: StatementOfReasons } | { ok: false; violations: Violation[] };

const FIELDS = new Set([
  'decision_visibility', 'decision_visibility_other', 'decision_monetary', 'decision_monetary_other', 'decision_provision', 'decision_account', 'account_type',
  'decision_ground', 'decision_ground_reference_url', 'illegal_content_legal_ground', 'illegal_content_explanation', 'incompatible_content_ground',
  'incompatible_content_explanation', 'incompatible_content_illegal', 'content_type', 'content_type_other', 'category', 'category_addition',
  'category_specification', 'category_specification_other', 'territorial_scope', 'content_language', 'content_date', 'application_date',
  'end_date_account_restriction', 'end_date_monetary_restriction', 'end_date_service_restriction', 'end_date_visibility_restriction',
  'decision_facts', 'source_type', 'source_identity', 'automated_detection', 'automated_decision', 'puid', 'content_id',
]);

const TEXT_FIELDS = [
  'decision_visibility_other', 'decision_monetary_other', 'decision_ground_reference_url', 'illegal_content_legal_ground', 'illegal_content_explanation',
  'incompatible_content_ground', 'incompatible_content_explanation', 'content_type_other', 'category_specification_other', 'decision_facts', 'source_identity',
] as const;

const PUID = /^[a-zA-Z0-9-_]+$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

const present = (v: unknown) => v !== undefined && v !== null && !(typeof v === 'string' && v === '') && !(Array.isArray(v) && v.length === 0);

function realDate(value: string): boolean {
  const m = DATE.exec(value);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

function isUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Checks one statement; `notifierIdentities` are strings that must appear nowhere in it. */
export function validateStatement(input: unknown, options: { notifierIdentities?: readonly string[] } = {}): ValidationResult {
  const violations: Violation[] = [];
  const add = (field: string, rule: string, message: string) => violations.push({ field, rule, message });
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { ok: false, violations: [{ field: '', rule: 'array', message: 'A statement is a JSON object.' }] };
  const s = { ...(input as Record<string, unknown>) };

  for (const key of Object.keys(s)) if (!FIELDS.has(key)) add(key, 'unknown_field', `"${key}" is not a field of the Transparency Database API.`);

  const inEnum = (field: string, values: readonly string[], { nullable = false, required = false } = {}) => {
    const v = s[field];
    if (!present(v)) {
      if (required) add(field, 'required', `The ${field} field is required.`);
      else if (v !== undefined && v !== null && !nullable) add(field, `in:${values.join(',')}`, `The selected ${field} is invalid.`);
      return;
    }
    if (typeof v !== 'string' || !values.includes(v)) add(field, `in:${values.join(',')}`, `The selected ${field} is invalid.`);
  };
  const arrayIn = (field: string, values: readonly string[], { required = false } = {}) => {
    const v = s[field];
    if (v === undefined || v === null) {
      if (required) add(field, 'required', `The ${field} field is required.`);
      return;
    }
    if (!Array.isArray(v)) return add(field, 'array', `The ${field} field must be an array.`);
    if (required && v.length === 0) return add(field, 'required', `The ${field} field is required.`);
    for (const item of v) if (typeof item !== 'string' || !values.includes(item)) return add(field, `in:${values.join(',')}`, `The selected ${field} is invalid ("${String(item)}").`);
  };
  const maxText = (field: string, max: number) => {
    const v = s[field];
    if (v === undefined || v === null) return;
    if (typeof v !== 'string') return add(field, 'string', `The ${field} field must be a string.`);
    if (v.length > max) add(field, `max:${max}`, `The ${field} field must not be greater than ${max} characters.`);
  };
  const requiredIf = (field: string, condition: boolean, rule: string, message: string) => {
    if (condition && !present(s[field])) add(field, rule, message);
    if (!condition) delete s[field]; // exclude_unless / excludeIf: the API drops the field
  };
  const date = (field: string, { required = false, after = '', before = '2038-01-01' } = {}) => {
    const v = s[field];
    if (!present(v)) {
      if (required) add(field, 'required', `The ${field} field is required.`);
      return;
    }
    if (typeof v !== 'string' || !realDate(v)) return add(field, 'date_format:Y-m-d', `The ${field.replaceAll('_', ' ')} does not match the format YYYY-MM-DD.`);
    if (after && v < after) add(field, `after_or_equal:${after}`, `The ${field} field must be a date after or equal to ${after}.`);
    if (v > before) add(field, `before_or_equal:${before}`, `The ${field} field must be a date before or equal to ${before}.`);
  };

  // Restrictions: at least one of the four kinds (Art. 17(1)(a)–(d)).
  const kinds = ['decision_visibility', 'decision_monetary', 'decision_provision', 'decision_account'];
  if (!kinds.some((k) => present(s[k]))) {
    for (const k of kinds) add(k, `required_without_all:${kinds.filter((o) => o !== k).join(',')}`, `The ${k} field is required when none of ${kinds.filter((o) => o !== k).join(' / ')} are present.`);
  }
  arrayIn('decision_visibility', Object.keys(DECISION_VISIBILITY));
  const visibility = Array.isArray(s.decision_visibility) ? (s.decision_visibility as string[]) : [];
  requiredIf('decision_visibility_other', visibility.includes('DECISION_VISIBILITY_OTHER'), 'required', 'The decision visibility other field is required when decision visibility is other.');
  maxText('decision_visibility_other', 500);
  inEnum('decision_monetary', Object.keys(DECISION_MONETARY), { nullable: true });
  requiredIf('decision_monetary_other', s.decision_monetary === 'DECISION_MONETARY_OTHER', 'required_if:decision_monetary,DECISION_MONETARY_OTHER', 'The decision monetary other field is required when decision monetary is other.');
  maxText('decision_monetary_other', 500);
  inEnum('decision_provision', Object.keys(DECISION_PROVISION), { nullable: true });
  inEnum('decision_account', Object.keys(DECISION_ACCOUNT), { nullable: true });
  inEnum('account_type', Object.keys(ACCOUNT_TYPE), { nullable: true });

  // Ground: illegal (which law) or incompatible (which term), with an explanation either way.
  inEnum('decision_ground', Object.keys(DECISION_GROUND), { required: true });
  const illegal = s.decision_ground === 'DECISION_GROUND_ILLEGAL_CONTENT';
  const incompatible = s.decision_ground === 'DECISION_GROUND_INCOMPATIBLE_CONTENT';
  if (present(s.decision_ground_reference_url)) {
    if (typeof s.decision_ground_reference_url !== 'string' || !isUrl(s.decision_ground_reference_url)) add('decision_ground_reference_url', 'url', 'The decision ground reference url field must be a valid URL.');
    maxText('decision_ground_reference_url', 500);
  }
  requiredIf('illegal_content_legal_ground', illegal, 'required_if:decision_ground,DECISION_GROUND_ILLEGAL_CONTENT', 'The illegal content legal ground field is required when decision ground is illegal content.');
  requiredIf('illegal_content_explanation', illegal, 'required_if:decision_ground,DECISION_GROUND_ILLEGAL_CONTENT', 'The illegal content explanation field is required when decision ground is illegal content.');
  maxText('illegal_content_legal_ground', 500);
  maxText('illegal_content_explanation', 2000);
  requiredIf('incompatible_content_ground', incompatible, 'required_if:decision_ground,DECISION_GROUND_INCOMPATIBLE_CONTENT', 'The incompatible content ground field is required when decision ground is incompatible content.');
  requiredIf('incompatible_content_explanation', incompatible, 'required_if:decision_ground,DECISION_GROUND_INCOMPATIBLE_CONTENT', 'The incompatible content explanation field is required when decision ground is incompatible content.');
  maxText('incompatible_content_ground', 500);
  maxText('incompatible_content_explanation', 2000);
  if (!incompatible) delete s.incompatible_content_illegal;
  inEnum('incompatible_content_illegal', INCOMPATIBLE_CONTENT_ILLEGAL, { nullable: true });

  // What the content is.
  arrayIn('content_type', Object.keys(CONTENT_TYPE), { required: true });
  const contentTypes = Array.isArray(s.content_type) ? (s.content_type as string[]) : [];
  requiredIf('content_type_other', contentTypes.includes('CONTENT_TYPE_OTHER'), 'required', 'The content type other field is required when content is other.');
  maxText('content_type_other', 500);
  inEnum('category', Object.keys(STATEMENT_CATEGORY), { required: true });
  arrayIn('category_addition', Object.keys(STATEMENT_CATEGORY));
  arrayIn('category_specification', Object.keys(KEYWORD));
  maxText('category_specification_other', 500);
  // The API documents territorial_scope as required (its validator lets null through); we require it.
  arrayIn('territorial_scope', EUROPEAN_COUNTRY_CODES, { required: true });
  if (present(s.content_language)) inEnum('content_language', CONTENT_LANGUAGES, { nullable: true });
  if (present(s.content_id)) {
    const id = s.content_id as Record<string, unknown>;
    if (typeof id !== 'object' || Array.isArray(id)) add('content_id', 'array', 'The content id field must be an object.');
    else if (typeof id['EAN-13'] !== 'string' || !/^[0-9]{13}$/.test(id['EAN-13'])) add('content_id.EAN-13', 'regex:/^[0-9]{13}$/', 'The content id EAN-13 must be 13 digits.');
  }

  // When.
  date('content_date', { required: true, after: '2000-01-01' });
  date('application_date', { required: true, after: '2020-01-01' });
  const application = typeof s.application_date === 'string' && realDate(s.application_date) ? s.application_date : '';
  for (const f of ['end_date_account_restriction', 'end_date_monetary_restriction', 'end_date_service_restriction', 'end_date_visibility_restriction']) date(f, { after: application });

  // Why, from where, how automated, and the platform's unique id.
  if (!present(s.decision_facts)) add('decision_facts', 'required', 'The decision facts field is required.');
  maxText('decision_facts', 5000);
  inEnum('source_type', Object.keys(SOURCE_TYPE), { required: true });
  if (s.source_type === 'SOURCE_VOLUNTARY') delete s.source_identity;
  maxText('source_identity', 500);
  inEnum('automated_detection', AUTOMATED_DETECTION, { required: true });
  inEnum('automated_decision', Object.keys(AUTOMATED_DECISION), { required: true });
  if (!present(s.puid)) add('puid', 'required', 'The puid field is required.');
  else if (typeof s.puid !== 'string' || !PUID.test(s.puid)) add('puid', 'regex:/^[a-zA-Z0-9-_]+$/D', 'The puid format is invalid.');
  else if (s.puid.length > 500) add('puid', 'max:500', 'The puid field must not be greater than 500 characters.');

  // Ours: an individual notifier is never named, and no notifier identity appears anywhere.
  if (s.source_type === 'SOURCE_ARTICLE_16' && present(s.source_identity)) add('source_identity', 'no_notifier_identity', 'A statement never names an individual who submitted an Article 16 notice.');
  const identities = (options.notifierIdentities ?? []).map((i) => i.trim().toLowerCase()).filter((i) => i.length >= 3);
  for (const field of TEXT_FIELDS) {
    const v = s[field];
    if (typeof v !== 'string') continue;
    const lower = v.toLowerCase();
    if (identities.some((i) => lower.includes(i))) add(field, 'no_notifier_identity', `The ${field} field contains the identity of a notifier.`);
  }

  if (violations.length) return { ok: false, violations };
  for (const [k, v] of Object.entries(s)) if (v === undefined) delete s[k];
  return { ok: true, statement: s as unknown as StatementOfReasons };
}

export interface BatchViolation extends Violation {
  /** Index of the statement in the batch (the API's "statement_<i>"), or -1 for the batch itself. */
  index: number;
}

/** A batch for POST /api/v1/statements: 1–100 statements, unique puids, each valid. */
export function validateBatch(statements: readonly unknown[], identitiesOf: (index: number) => readonly string[] = () => []): { ok: true; statements: StatementOfReasons[] } | { ok: false; violations: BatchViolation[] } {
  const violations: BatchViolation[] = [];
  if (statements.length < 1 || statements.length > TDB_BATCH_LIMIT) violations.push({ index: -1, field: 'statements', rule: `between:1,${TDB_BATCH_LIMIT}`, message: `A batch holds 1 to ${TDB_BATCH_LIMIT} statements, not ${statements.length}.` });
  const out: StatementOfReasons[] = [];
  const seen = new Map<string, number>();
  statements.forEach((statement, index) => {
    const result = validateStatement(statement, { notifierIdentities: identitiesOf(index) });
    if (!result.ok) violations.push(...result.violations.map((v) => ({ ...v, index })));
    else {
      const first = seen.get(result.statement.puid);
      if (first !== undefined) violations.push({ index, field: 'puid', rule: 'distinct', message: `The puid "${result.statement.puid}" is also statement ${first}'s: every puid is unique.` });
      seen.set(result.statement.puid, index);
      out.push(result.statement);
    }
  });
  return violations.length ? { ok: false, violations } : { ok: true, statements: out };
}

/** Splits statements into batches of at most 100, the API's limit. */
export function batches<T>(items: readonly T[], size = TDB_BATCH_LIMIT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** YYYY-MM-DD in UTC, the API's date format. */
export const tdbDate = (time: number): string => new Date(time).toISOString().slice(0, 10);
