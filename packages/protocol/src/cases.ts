/**
 * Notice and action on the wire (packages/cases, /v1/notices, /v1/moderation/*): notices (DSA Art. 16),
 * trusted flaggers' notices (Art. 22), authorities' signed requests (TCO removal orders, Annex I),
 * moderators' decisions, appeals (DSA Art. 20), and the operator's settings. Shared by the server, the
 * CLI and the web console.
 */
import { z } from 'zod';
import { EUROPEAN_COUNTRY_CODES, KEYWORD, STATEMENT_CATEGORY } from './dsa.ts';

const text = (max: number) => z.string().trim().min(1).max(max);
const statementCategory = z.enum(Object.keys(STATEMENT_CATEGORY) as [keyof typeof STATEMENT_CATEGORY, ...Array<keyof typeof STATEMENT_CATEGORY>]);
const keyword = z.enum(Object.keys(KEYWORD) as [keyof typeof KEYWORD, ...Array<keyof typeof KEYWORD>]);
const httpUrl = z
  .string()
  .max(2000)
  .refine((s) => {
    try {
      return ['http:', 'https:'].includes(new URL(s).protocol);
    } catch {
      return false;
    }
  }, 'must be an http(s) URL');
/** ISO 3166-1 alpha-2, upper case (territories of a geo-restriction: any country, not only the EEA). */
export const countryCode = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code, upper case');
export const memberState = z.enum(EUROPEAN_COUNTRY_CODES);

/** The laws a notifier may invoke; the rule table (cases/legalBasis.ts) turns them into clocks. */
export const noticeLaw = z.enum(['dsa', 'osa', 'netzdg']);

/**
 * DSA Art. 16(2): (a) an explanation of why the content is illegal, (b) its exact URL, (c) the notifier's
 * name and e-mail — except for notices of child sexual abuse material (offences of Directive
 * 2011/93/EU Arts. 3–7), which may be anonymous — and (d) a statement of bona fide belief.
 */
export const noticeRequest = z
  .object({
    url: httpUrl,
    explanation: text(5000),
    category: statementCategory,
    keywords: z.array(keyword).max(10).default([]),
    law: noticeLaw.default('dsa'),
    name: text(200).optional(),
    email: z.string().trim().max(254).email().optional(),
    anonymous: z.boolean().default(false),
    bonaFide: z.literal(true, { message: 'confirm that the notice is accurate and complete to the best of your knowledge (DSA Art. 16(2)(d))' }),
  })
  .strict();
export type NoticeRequest = z.infer<typeof noticeRequest>;

/** A trusted flagger's notice: the organisation is known from its account, so no name or e-mail. */
export const flagRequest = noticeRequest.omit({ name: true, email: true, anonymous: true }).strict();
export type FlagRequest = z.infer<typeof flagRequest>;

export const noticeReceipt = z.object({ noticeId: z.number().int(), caseId: z.number().int(), receiptToken: z.string(), receivedAt: z.number().int() });

/** TCO Art. 2(7)(a)–(e): what makes material terrorist content. */
export const TCO_GROUNDS = {
  incitement: 'incites the commission of terrorist offences (Art. 2(7)(a))',
  solicitation: 'solicits a person or group to commit or contribute to terrorist offences (Art. 2(7)(b))',
  participation: 'solicits participation in the activities of a terrorist group (Art. 2(7)(c))',
  instruction: 'provides instruction on making or using explosives, firearms or other weapons for terrorist offences (Art. 2(7)(d))',
  threat: 'constitutes a threat to commit a terrorist offence (Art. 2(7)(e))',
} as const;
export const tcoGround = z.enum(Object.keys(TCO_GROUNDS) as [keyof typeof TCO_GROUNDS, ...Array<keyof typeof TCO_GROUNDS>]);

/** The removal order of TCO Annex I, sections A–F. */
export const removalOrderBody = z
  .object({
    /** A: the issuing authority's reference number for this order. */
    reference: z.string().trim().min(1).max(100).regex(/^[\w./:-]+$/, 'letters, digits and _ . / : - only'),
    /** A: the issuing Member State and authority (as the order names it). */
    memberState,
    issuingAuthority: text(300),
    /** B: the exact URLs of the content, and anything else that identifies it. */
    content: z.array(z.object({ url: httpUrl, detail: z.string().max(1000).default('') }).strict()).min(1).max(100),
    /** B: why the content is terrorist content: the Art. 2(7) grounds and a statement of reasons. */
    grounds: z.array(tcoGround).min(1),
    reasons: text(5000),
    /** C: TCO Art. 11(3): do not tell the content provider for this many days (at most six weeks). */
    disclosureDelayDays: z.number().int().min(1).max(42).optional(),
    /** E: where the provider sends its feedback (Annex II) or inability to comply (Annex III). */
    feedbackContact: text(500),
    /** F: the redress available to the provider and the content provider. */
    redress: text(2000),
  })
  .strict();
export type RemovalOrderBody = z.infer<typeof removalOrderBody>;

const requestEnvelope = { provider: z.string().min(1).max(200), issuedAt: z.number().int(), nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/) };
export const authorityRequestSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('removal_order'), body: removalOrderBody, ...requestEnvelope }).strict(),
  z.object({ type: z.literal('order_status'), body: z.object({ reference: z.string().min(1).max(100) }).strict(), ...requestEnvelope }).strict(),
  z
    .object({
      type: z.literal('preservation_extension'),
      body: z.object({ reference: z.string().min(1).max(100), months: z.number().int().min(1).max(24), reasons: text(2000) }).strict(),
      ...requestEnvelope,
    })
    .strict(),
]);
export type AuthorityRequest = z.infer<typeof authorityRequestSchema>;

export const signedAuthorityRequest = z
  .object({
    authority: z.string().min(1).max(64),
    payload: z.string().max(400_000).regex(/^[A-Za-z0-9_-]+$/),
    signature: z.string().max(100).regex(/^[A-Za-z0-9_-]+$/),
  })
  .strict();

/** One restriction a moderator orders (content.ts applies it through the content seam). */
export const restrictionSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('remove') }).strict(),
  z.object({ type: z.literal('geo_restrict'), territories: z.array(countryCode).min(1).max(250) }).strict(),
  z.object({ type: z.literal('label'), label: text(200) }).strict(),
  z.object({ type: z.literal('age_restrict'), minimumAge: z.number().int().min(13).max(21) }).strict(),
  z.object({ type: z.literal('demote') }).strict(),
  z.object({ type: z.literal('demonetise') }).strict(),
  z.object({ type: z.literal('suspend_account'), until: z.number().int().nullable() }).strict(),
  z.object({ type: z.literal('terminate_account') }).strict(),
]);
export type Restriction = z.infer<typeof restrictionSchema>;

/** The ground of a decision: illegal under which law, incompatible with which term, or neither. */
export const decisionGroundSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('illegal'), law: text(500), explanation: text(2000) }).strict(),
  z.object({ kind: z.literal('incompatible'), term: text(500), explanation: text(2000), alsoIllegal: z.boolean().default(false) }).strict(),
  z.object({ kind: z.literal('none'), explanation: text(2000) }).strict(),
]);
export type DecisionGroundInput = z.infer<typeof decisionGroundSchema>;

export const decisionRequest = z
  .object({
    /** The case version the moderator saw: a stale or replayed decision is refused (one decision at a time). */
    version: z.number().int().nonnegative(),
    /** Empty: no action. */
    actions: z.array(restrictionSchema).max(8),
    ground: decisionGroundSchema,
    category: statementCategory,
    keywords: z.array(keyword).max(10).default([]),
    /** The facts and circumstances relied on (DSA Art. 17(3)(b)), in words the uploader is shown. */
    facts: text(5000),
  })
  .strict();
export type DecisionRequest = z.infer<typeof decisionRequest>;

/** TCO Annex III: why an order cannot be complied with. */
export const cannotComplyRequest = z
  .object({
    version: z.number().int().nonnegative(),
    reason: z.enum(['force_majeure', 'manifest_error', 'insufficient_information']),
    detail: text(2000),
  })
  .strict();

export const appealRequest = z.object({ grounds: text(5000) }).strict();
export const appealDecisionRequest = z.object({ version: z.number().int().nonnegative(), outcome: z.enum(['upheld', 'reversed']), reasons: text(5000) }).strict();

export const roleName = z.enum(['moderator', 'admin', 'trusted_flagger', 'legal']);
export const roleGrantRequest = z.object({ username: z.string().min(3).max(32), role: roleName, organisation: z.string().trim().max(200).default('') }).strict();

export const authorityRegistration = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_.-]{1,63}$/),
    name: text(300),
    memberState,
    publicKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a 32-byte Ed25519 key, base64url'),
    contact: text(500),
  })
  .strict();

export const basisRequest = z.object({ version: z.number().int().nonnegative(), basis: z.enum(['netzdg_manifest', 'netzdg', 'dsa', 'osa', 'terms']) }).strict();

export const incidentDeclaration = z
  .object({
    name: text(200),
    description: text(2000),
    /** Hamming distance at which uploads near the incident’s hashes are held: wider than PDQ’s 31, at most the upload check’s 43. */
    radius: z.number().int().min(31).max(43).default(40),
  })
  .strict();
export const incidentHashes = z
  .object({
    signals: z
      .array(z.object({ type: z.enum(['pdq', 'md5', 'sha256', 'url']), value: z.string().min(1).max(2000), labels: z.array(z.string().max(100)).max(20).default([]) }).strict())
      .min(1)
      .max(10_000),
  })
  .strict();
export const incidentClose = z.object({ summary: text(5000) }).strict();

export const reportQuery = z
  .object({
    from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    to: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  })
  .strict();
