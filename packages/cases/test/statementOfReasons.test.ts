/**
 * The Transparency Database's rules, each broken on purpose: a statement that breaks one is refused with
 * that rule's name, and the complete example from the API documentation passes.
 */
import { describe, expect, it } from 'vitest';
import { batches, validateBatch, validateStatement } from '../src/statementOfReasons.ts';

/** The API documentation's example payload (resources/markdown/api-documentation.md). */
const EXAMPLE = {
  decision_visibility: ['DECISION_VISIBILITY_CONTENT_DISABLED'],
  decision_monetary: 'DECISION_MONETARY_TERMINATION',
  end_date_monetary_restriction: '2023-08-08',
  decision_provision: 'DECISION_PROVISION_TOTAL_SUSPENSION',
  decision_account: 'DECISION_ACCOUNT_SUSPENDED',
  account_type: 'ACCOUNT_TYPE_BUSINESS',
  decision_ground: 'DECISION_GROUND_INCOMPATIBLE_CONTENT',
  decision_ground_reference_url: 'https://www.anurl.com',
  content_type: ['CONTENT_TYPE_VIDEO', 'CONTENT_TYPE_AUDIO', 'CONTENT_TYPE_SYNTHETIC_MEDIA'],
  category: 'STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN',
  illegal_content_legal_ground: 'illegal content legal grounds',
  illegal_content_explanation: 'illegal content explanation',
  incompatible_content_ground: 'incompatible content grounds',
  incompatible_content_explanation: 'incompatible content explanation',
  incompatible_content_illegal: 'Yes',
  territorial_scope: ['PT', 'ES', 'DE'],
  content_language: 'EN',
  content_date: '2023-08-08',
  content_id: { 'EAN-13': '0123456789123' },
  application_date: '2023-08-08',
  decision_facts: 'facts about the decision',
  source_type: 'SOURCE_TRUSTED_FLAGGER',
  automated_detection: 'No',
  automated_decision: 'AUTOMATED_DECISION_PARTIALLY',
  puid: 'TK421',
};

const rulesOf = (input: unknown, identities: string[] = []) => {
  const r = validateStatement(input, { notifierIdentities: identities });
  return r.ok ? [] : r.violations.map((v) => `${v.field} ${v.rule}`);
};

describe('statement of reasons validation (DSA Transparency Database rules)', () => {
  it('accepts the API documentation’s example and drops what the API excludes', () => {
    const r = validateStatement(EXAMPLE);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    // exclude_unless: illegal_content_* only travel with DECISION_GROUND_ILLEGAL_CONTENT
    expect(r.statement).not.toHaveProperty('illegal_content_legal_ground');
    expect(r.statement.incompatible_content_ground).toBe('incompatible content grounds');
  });

  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['no restriction of any kind', { decision_visibility: undefined, decision_monetary: undefined, decision_provision: undefined, decision_account: undefined }, 'decision_visibility required_without_all:decision_monetary,decision_provision,decision_account'],
    ['an unknown visibility value', { decision_visibility: ['DECISION_VISIBILITY_HIDDEN'] }, 'decision_visibility in:'],
    ['visibility not an array', { decision_visibility: 'DECISION_VISIBILITY_CONTENT_REMOVED' }, 'decision_visibility array'],
    ['other visibility without saying which', { decision_visibility: ['DECISION_VISIBILITY_OTHER'] }, 'decision_visibility_other required'],
    ['other monetary without saying which', { decision_monetary: 'DECISION_MONETARY_OTHER' }, 'decision_monetary_other required_if:decision_monetary,DECISION_MONETARY_OTHER'],
    ['no decision ground', { decision_ground: undefined }, 'decision_ground required'],
    ['illegal content without the law', { decision_ground: 'DECISION_GROUND_ILLEGAL_CONTENT', illegal_content_legal_ground: undefined }, 'illegal_content_legal_ground required_if:decision_ground,DECISION_GROUND_ILLEGAL_CONTENT'],
    ['illegal content without an explanation', { decision_ground: 'DECISION_GROUND_ILLEGAL_CONTENT', illegal_content_explanation: '' }, 'illegal_content_explanation required_if:decision_ground,DECISION_GROUND_ILLEGAL_CONTENT'],
    ['incompatibility without the term', { incompatible_content_ground: undefined }, 'incompatible_content_ground required_if:decision_ground,DECISION_GROUND_INCOMPATIBLE_CONTENT'],
    ['an explanation over 2000 characters', { incompatible_content_explanation: 'x'.repeat(2001) }, 'incompatible_content_explanation max:2000'],
    ['incompatible_content_illegal not Yes/No', { incompatible_content_illegal: 'Maybe' }, 'incompatible_content_illegal in:Yes,No'],
    ['no content type', { content_type: [] }, 'content_type required'],
    ['other content type unexplained', { content_type: ['CONTENT_TYPE_OTHER'] }, 'content_type_other required'],
    ['an unknown category', { category: 'STATEMENT_CATEGORY_TERRORISM' }, 'category in:'],
    ['an unknown keyword', { category_specification: ['KEYWORD_EXTREMISM'] }, 'category_specification in:'],
    ['a territory outside the EEA', { territorial_scope: ['DE', 'GB'] }, 'territorial_scope in:'],
    ['no territorial scope', { territorial_scope: undefined }, 'territorial_scope required'],
    ['a language that is not ISO 639-1', { content_language: 'XX' }, 'content_language in:'],
    ['a date in another format', { content_date: '08/08/2023' }, 'content_date date_format:Y-m-d'],
    ['a date that does not exist', { application_date: '2023-02-30' }, 'application_date date_format:Y-m-d'],
    ['content dated before 2000', { content_date: '1999-12-31' }, 'content_date after_or_equal:2000-01-01'],
    ['an application date before 2020', { application_date: '2019-06-01' }, 'application_date after_or_equal:2020-01-01'],
    ['an end date before the application date', { end_date_monetary_restriction: '2023-08-01' }, 'end_date_monetary_restriction after_or_equal:2023-08-08'],
    ['an end date after 2038', { end_date_monetary_restriction: '2039-01-01' }, 'end_date_monetary_restriction before_or_equal:2038-01-01'],
    ['no facts', { decision_facts: undefined }, 'decision_facts required'],
    ['facts over 5000 characters', { decision_facts: 'x'.repeat(5001) }, 'decision_facts max:5000'],
    ['an unknown source type', { source_type: 'SOURCE_POLICE' }, 'source_type in:'],
    ['automated detection not Yes/No', { automated_detection: true }, 'automated_detection in:Yes,No'],
    ['an unknown automated decision', { automated_decision: 'AUTOMATED_DECISION_MOSTLY' }, 'automated_decision in:'],
    ['a puid with a space', { puid: 'TK 421' }, 'puid regex:/^[a-zA-Z0-9-_]+$/D'],
    ['a puid over 500 characters', { puid: 'a'.repeat(501) }, 'puid max:500'],
    ['no puid', { puid: undefined }, 'puid required'],
    ['a malformed EAN-13', { content_id: { 'EAN-13': '12345' } }, 'content_id.EAN-13 regex:/^[0-9]{13}$/'],
    ['a field the API does not have', { reporter_email: 'x@example.org' }, 'reporter_email unknown_field'],
    ['an individual notifier named as the source', { source_type: 'SOURCE_ARTICLE_16', source_identity: 'Jane Doe' }, 'source_identity no_notifier_identity'],
  ];
  for (const [what, change, rule] of cases) {
    it(`refuses ${what} with the rule it breaks`, () => {
      const broken = { ...EXAMPLE, ...change };
      for (const [k, v] of Object.entries(change)) if (v === undefined) delete (broken as Record<string, unknown>)[k];
      const rules = rulesOf(broken);
      expect(rules.some((r) => r.startsWith(rule)), `${rules.join(' | ')}`).toBe(true);
    });
  }

  it('refuses any text field carrying a notifier’s name or e-mail, in any case', () => {
    expect(rulesOf({ ...EXAMPLE, decision_facts: 'Reported by JANE.DOE@example.org, who saw it.' }, ['Jane Doe', 'jane.doe@example.org'])).toEqual(['decision_facts no_notifier_identity']);
    expect(rulesOf({ ...EXAMPLE, decision_facts: 'Reported by a user.' }, ['Jane Doe', 'jane.doe@example.org'])).toEqual([]);
  });

  it('drops source_identity for own-initiative decisions, as the API does', () => {
    const r = validateStatement({ ...EXAMPLE, source_type: 'SOURCE_VOLUNTARY', source_identity: 'anyone' });
    expect(r.ok && 'source_identity' in r.statement).toBe(false);
  });

  it('takes batches of 1 to 100 with unique puids', () => {
    const many = Array.from({ length: 101 }, (_, i) => ({ ...EXAMPLE, puid: `p${i}` }));
    const over = validateBatch(many);
    expect(over.ok).toBe(false);
    expect(!over.ok && over.violations[0]!.rule).toBe('between:1,100');
    expect(validateBatch(many.slice(0, 100)).ok).toBe(true);
    const dup = validateBatch([EXAMPLE, { ...EXAMPLE }]);
    expect(!dup.ok && dup.violations.map((v) => `${v.index} ${v.field} ${v.rule}`)).toEqual(['1 puid distinct']);
    expect(batches(many).map((b) => b.length)).toEqual([100, 1]);
  });
});
