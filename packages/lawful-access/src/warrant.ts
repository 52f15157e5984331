/**
 * Targeted interception warrants, mirroring the Investigatory Powers Act 2016 (IPA):
 *   - issued by the Secretary of State on the grounds of s.20(2) — national security, preventing or
 *     detecting serious crime, or the economic well-being of the UK so far as relevant to national
 *     security — naming the identifiers to intercept (s.31(8));
 *   - taking effect only once a Judicial Commissioner approves it (s.23, the "double lock"); a refusal
 *     carries written reasons (s.23(4));
 *   - urgent (s.24): effective on the Secretary of State's signature alone, but lapsing unless approved
 *     by the end of the third working day after issue; approved in time, it continues as a normal warrant
 *     (its window, at most six months) with no re-submission. Once one urgent warrant on a target has
 *     lapsed unapproved (or been refused), the next on that target needs a judge first (the provider
 *     enforces it: apps/server/src/lawfulAccess.ts);
 *   - otherwise lasting at most six months (s.32(2)(b)), renewable within the 30 days before expiry with
 *     a new approval (s.33), modifiable with re-approval (ss.34–38; a new revision), cancellable (s.39).
 * The document is canonical JSON (canonicalJson.ts); both signatures cover its exact bytes under distinct
 * labels, so neither alone is a valid warrant. Interception is prospective only: the window cannot
 * start before the warrant was issued.
 */
import { lengthPrefixed, toBase64Url } from '@doublelock/protocol';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { canonicalBytes } from './canonicalJson.ts';
import { DAY_MS } from './epoch.ts';
import { equalBytes } from './group.ts';
import { signDocument, verifyDocument } from './signature.ts';
import { type TrustConfig, calendarOf, findKey } from './trust.ts';
import { type WorkingDayCalendar, UK_CALENDAR, addLocalMonths, endOfNthWorkingDayAfter, startOfLocalDay } from './workingDays.ts';

export const ISSUE_LABEL = 'doublelock/warrant/issue/v1';
export const DECISION_LABEL = 'doublelock/warrant/judicial-decision/v1';
export const CANCEL_LABEL = 'doublelock/warrant/cancellation/v1';
export const COMMITMENT_LABEL = 'doublelock/warrant/commitment/v1';

const identifier = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$/, 'identifier');
const b64 = z.string().regex(/^[A-Za-z0-9_-]+$/, 'base64url');
const time = z.number().int().nonnegative();

export const GROUNDS = ['national-security', 'serious-crime', 'economic-well-being'] as const;
export const PRODUCTS = ['iri', 'cc'] as const;

export const warrantSchema = z
  .object({
    format: z.literal(1),
    id: identifier,
    /** 0 when issued; +1 for each modification (ss.34–38) */
    revision: z.number().int().min(0),
    kind: z.literal('targeted-interception'),
    /** the identifiers to intercept (s.31(8)): account names on this platform */
    targets: z.array(identifier).min(1).max(100),
    window: z.object({ start: time, end: time }),
    grounds: z.array(z.enum(GROUNDS)).min(1),
    /** free-text statement of necessity and proportionality (s.19(1)(b)–(c)); committed, never public */
    justification: z.string().max(10_000),
    agency: identifier,
    /** ETSI LI products: intercept-related information (HI2) and content of communication (HI3) */
    products: z.array(z.enum(PRODUCTS)).min(1),
    /** how many distinct messages may be decrypted in all, and (optionally) in any 24 hours: counted from the log */
    limits: z.object({ maxMessages: z.number().int().min(1).max(1_000_000), maxPerDay: z.number().int().min(1).max(1_000_000).optional() }),
    urgent: z.boolean(),
    issuedAt: time,
    /** the id of the warrant this one renews (s.33), or null */
    renews: identifier.nullable(),
    /**
     * The secrecy period: days after the window ends until the warrant must be unsealed (its commitment
     * opened in the log: unsealing.ts). Absent: DEFAULT_SECRECY_DAYS. The deadline is public (in the
     * warrant's log entry), so an unsealing that is overdue is visible to anyone.
     */
    secrecyDays: z.number().int().min(0).max(36_500).optional(),
  })
  .superRefine((w, ctx) => {
    const issue = (message: string) => ctx.addIssue({ code: 'custom', message });
    if (w.window.end <= w.window.start) issue('window must end after it starts');
    if (new Set(w.targets).size !== w.targets.length) issue('targets must be distinct');
    if (new Set(w.grounds).size !== w.grounds.length) issue('grounds must be distinct');
    if (new Set(w.products).size !== w.products.length) issue('products must be distinct');
    if (w.urgent && w.renews !== null) issue('an urgent warrant cannot be a renewal');
  });

export type Warrant = z.infer<typeof warrantSchema>;

const signatureSchema = z.object({ signer: identifier, signature: b64 });
export const judicialDecisionSchema = z.object({
  decision: z.enum(['approved', 'refused']),
  decidedAt: time,
  reasons: z.string().max(10_000),
  signer: identifier,
  signature: b64,
});
export type JudicialDecision = z.infer<typeof judicialDecisionSchema>;

export const signedWarrantSchema = z.object({
  warrant: warrantSchema,
  issue: signatureSchema,
  decision: judicialDecisionSchema.nullable(),
});
export type SignedWarrant = z.infer<typeof signedWarrantSchema>;

/**
 * A cancellation (s.39) names the warrant id *and the revision* it cancels (that revision and every
 * earlier one; a later, re-approved revision is untouched), and carries a random nonce so each one is
 * used once: the provider logs it and refuses it a second time, so an old cancellation replayed later
 * cannot end what was approved since.
 */
export const cancellationSchema = z.object({
  warrantId: identifier,
  revision: z.number().int().min(0),
  nonce: z.string().regex(/^[A-Za-z0-9_-]{22}$/, '16 random bytes, base64url'),
  cancelledAt: time,
  signer: identifier,
  signature: b64,
});
export type Cancellation = z.infer<typeof cancellationSchema>;

/**
 * What the transparency log records of a Judicial Commissioner's refusal (s.23(4)): the warrant id, the
 * digest of the refused document, when, and the digest of the written reasons (the reasons themselves
 * stay with the authorities), with the judge's signature over exactly that. Anyone holding it — provider,
 * custodians, auditors — treats the warrant id as dead, whatever document is later presented.
 */
export const refusalNoticeSchema = z.object({
  warrantId: identifier,
  warrantDigest: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  decidedAt: time,
  reasonsDigest: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  signer: identifier,
  signature: b64,
});
export type RefusalNotice = z.infer<typeof refusalNoticeSchema>;

export const warrantDigest = (w: Warrant): Uint8Array => sha256(canonicalBytes(warrantSchema.parse(w)));

/** The Secretary of State's signature over the warrant's canonical bytes. */
export function issueWarrant(warrant: Warrant, signer: string, secretKey: Uint8Array): SignedWarrant {
  const parsed = warrantSchema.parse(warrant);
  return { warrant: parsed, issue: { signer, signature: signDocument(ISSUE_LABEL, parsed, secretKey) }, decision: null };
}

const digestOf = (text: string): string => toBase64Url(sha256(new TextEncoder().encode(text)));

/** What a judge signs: the warrant's id and digest, the decision, when, and a digest of the reasons. */
function decisionDocument(warrantId: string, warrantDigestB64: string, d: { decision: string; decidedAt: number; reasonsDigest: string }) {
  return { warrantId, warrant: warrantDigestB64, decision: d.decision, decidedAt: d.decidedAt, reasons: d.reasonsDigest };
}

const decisionDocumentFor = (warrant: Warrant, d: { decision: string; decidedAt: number; reasons: string }) =>
  decisionDocument(warrant.id, toBase64Url(warrantDigest(warrant)), { decision: d.decision, decidedAt: d.decidedAt, reasonsDigest: digestOf(d.reasons) });

/** A Judicial Commissioner's decision (s.23): approval, or refusal with written reasons. */
export function decideWarrant(
  signed: SignedWarrant,
  decision: { decision: 'approved' | 'refused'; decidedAt: number; reasons: string },
  signer: string,
  secretKey: Uint8Array,
): SignedWarrant {
  if (decision.decision === 'refused' && decision.reasons.trim() === '') throw new Error('a refusal must give written reasons (s.23(4))');
  const signature = signDocument(DECISION_LABEL, decisionDocumentFor(signed.warrant, decision), secretKey);
  return { ...signed, decision: { ...decision, signer, signature } };
}

const cancellationDocument = (c: Omit<Cancellation, 'signer' | 'signature'>) => ({ warrantId: c.warrantId, revision: c.revision, nonce: c.nonce, cancelledAt: c.cancelledAt });

export function cancelWarrant(warrant: { id: string; revision: number }, cancelledAt: number, signer: string, secretKey: Uint8Array): Cancellation {
  const unsigned = { warrantId: warrant.id, revision: warrant.revision, nonce: toBase64Url(randomBytes(16)), cancelledAt };
  return { ...unsigned, signer, signature: signDocument(CANCEL_LABEL, cancellationDocument(unsigned), secretKey) };
}

export function verifyCancellation(c: Cancellation, trust: TrustConfig): boolean {
  const key = findKey(trust.secretaryOfState, c.signer);
  return key !== undefined && verifyDocument(CANCEL_LABEL, cancellationDocument(c), c.signature, key.publicKey);
}

/** The public notice of a refusal, from the refused warrant (throws unless it carries a refusal). */
export function refusalNotice(signed: SignedWarrant): RefusalNotice {
  const d = signed.decision;
  if (!d || d.decision !== 'refused') throw new Error('the warrant carries no refusal');
  return { warrantId: signed.warrant.id, warrantDigest: toBase64Url(warrantDigest(signed.warrant)), decidedAt: d.decidedAt, reasonsDigest: digestOf(d.reasons), signer: d.signer, signature: d.signature };
}

export function verifyRefusalNotice(n: RefusalNotice, trust: TrustConfig): boolean {
  const key = findKey(trust.judicialCommissioners, n.signer);
  return key !== undefined && verifyDocument(DECISION_LABEL, decisionDocument(n.warrantId, n.warrantDigest, { decision: 'refused', decidedAt: n.decidedAt, reasonsDigest: n.reasonsDigest }), n.signature, key.publicKey);
}

/**
 * The hiding commitment published in the transparency log before the warrant takes effect:
 * SHA-256(label ‖ nonce ‖ canonical warrant), with a fresh 32-byte nonce kept by the authorities and
 * revealed ("unsealed") after the secrecy period, when anyone can check what was authorised.
 */
export function commitToWarrant(warrant: Warrant, nonce: Uint8Array = randomBytes(32)): { commitment: Uint8Array; nonce: Uint8Array } {
  if (!(nonce instanceof Uint8Array) || nonce.length !== 32) throw new RangeError('commitment nonce must be 32 bytes');
  return { commitment: sha256(lengthPrefixed(COMMITMENT_LABEL, nonce, canonicalBytes(warrantSchema.parse(warrant)))), nonce };
}

export function openWarrantCommitment(commitment: Uint8Array, warrant: Warrant, nonce: Uint8Array): boolean {
  try {
    return equalBytes(commitment, commitToWarrant(warrant, nonce).commitment);
  } catch {
    return false;
  }
}

export type WarrantProblem =
  | 'issue_signature'
  | 'approval_missing'
  | 'approval_signature'
  | 'approval_late'
  | 'refused'
  | 'lapsed'
  | 'expired'
  | 'not_yet_in_force'
  | 'cancelled'
  | 'too_long'
  | 'retrospective';

export type WarrantStatus =
  | { inForce: true; from: number; until: number }
  | { inForce: false; problem: WarrantProblem; detail: string };

const fail = (problem: WarrantProblem, detail: string): WarrantStatus => ({ inForce: false, problem, detail });

/** The latest instant an urgent warrant may be approved: the end of the third working day after issue (s.24(3)). */
export function urgentDeadlines(issuedAt: number, calendar: WorkingDayCalendar): { approveBy: number } {
  return { approveBy: endOfNthWorkingDayAfter(issuedAt, 3, calendar) };
}

/**
 * Rules about the document alone: duration limits and prospective windows. An urgent warrant's window may
 * run as long as a normal one (six months): unapproved it is in force only until the end of the third
 * working day (warrantStatus), and approved in time it simply continues, with no re-submission.
 */
export function checkWarrantTerms(w: Warrant, calendar: WorkingDayCalendar): WarrantStatus | undefined {
  // A modification (revision > 0) keeps the original window; its effect still starts no earlier than its own issue.
  if (w.revision === 0 && w.window.start < w.issuedAt) return fail('retrospective', 'the window starts before the warrant was issued: interception is prospective only');
  const periodStart = w.renews !== null ? w.window.start : w.issuedAt;
  const maxEnd = addLocalMonths(startOfLocalDay(periodStart, calendar), 6, calendar);
  if (w.window.end > maxEnd) return fail('too_long', 'a warrant lasts at most six months (s.32(2)(b))');
  return undefined;
}

/**
 * Whether the warrant is in force at `now`, checking both signatures against the pinned trust
 * configuration, and the period [from, until) in which intercepted traffic falls under it.
 */
export function warrantStatus(
  signed: SignedWarrant,
  trust: TrustConfig,
  now: number,
  cancellations: readonly Cancellation[] = [],
  refusals: readonly RefusalNotice[] = [],
): WarrantStatus {
  const w = signed.warrant;
  const sos = findKey(trust.secretaryOfState, signed.issue.signer);
  if (!sos || !verifyDocument(ISSUE_LABEL, w, signed.issue.signature, sos.publicKey))
    return fail('issue_signature', 'no valid Secretary of State signature under the pinned trust configuration');
  const terms = checkWarrantTerms(w, calendarOf(trust));
  if (terms) return terms;
  // A logged refusal binds whatever document is presented: stripping it from this one does not help.
  const refusal = refusals.find((n) => n.warrantId === w.id && verifyRefusalNotice(n, trust));
  if (refusal) return fail('refused', `warrant ${w.id} was refused by a Judicial Commissioner on ${new Date(refusal.decidedAt).toISOString()} (logged)`);
  const d = signed.decision;
  if (d) {
    const jc = findKey(trust.judicialCommissioners, d.signer);
    if (!jc || !verifyDocument(DECISION_LABEL, decisionDocumentFor(w, d), d.signature, jc.publicKey))
      return fail('approval_signature', 'the Judicial Commissioner decision does not verify under the pinned trust configuration');
    if (d.decision === 'refused') return fail('refused', `refused by a Judicial Commissioner: ${d.reasons}`);
    if (d.decidedAt < w.issuedAt) return fail('approval_signature', 'the approval predates the warrant');
  }
  let from: number;
  let until = w.window.end;
  if (w.urgent) {
    const { approveBy } = urgentDeadlines(w.issuedAt, calendarOf(trust));
    if (d && d.decidedAt > approveBy) return fail('approval_late', 'approved after the end of the third working day (s.24(3)): the warrant had lapsed');
    if (!d) {
      if (now >= approveBy) return fail('lapsed', 'urgent warrant not approved by the end of the third working day (s.24(3))');
      until = Math.min(until, approveBy);
    }
    from = Math.max(w.window.start, w.issuedAt);
  } else {
    if (!d) return fail('approval_missing', 'not approved by a Judicial Commissioner (s.23): the Secretary of State’s signature alone is not a warrant');
    from = Math.max(w.window.start, w.issuedAt, d.decidedAt);
  }
  const cancelled = cancellations.find((c) => c.warrantId === w.id && c.revision >= w.revision && verifyCancellation(c, trust));
  if (cancelled) {
    if (cancelled.cancelledAt <= now) return fail('cancelled', `cancelled at ${new Date(cancelled.cancelledAt).toISOString()} (s.39)`);
    until = Math.min(until, cancelled.cancelledAt);
  }
  if (now < from) return fail('not_yet_in_force', 'the warrant is not yet in force');
  if (now >= until) return fail('expired', 'the warrant has expired');
  return { inForce: true, from, until };
}

/**
 * Whether the signatures a signed warrant carries verify under the trust configuration (the Secretary of
 * State's issue signature; the judge's decision, if any), whatever its dates: what an auditor checks of a
 * warrant revealed at unsealing.
 */
export function warrantSignaturesValid(signed: SignedWarrant, trust: TrustConfig): boolean {
  const w = signed.warrant;
  const sos = findKey(trust.secretaryOfState, signed.issue.signer);
  if (!sos || !verifyDocument(ISSUE_LABEL, w, signed.issue.signature, sos.publicKey)) return false;
  const d = signed.decision;
  if (!d) return true;
  const jc = findKey(trust.judicialCommissioners, d.signer);
  return jc !== undefined && verifyDocument(DECISION_LABEL, decisionDocumentFor(w, d), d.signature, jc.publicKey);
}

/** Whether a target of the warrant sent or received the message. */
export function involvesTarget(warrant: Warrant, message: { sender: string; recipients: readonly string[] }): boolean {
  const targets = new Set(warrant.targets);
  return targets.has(message.sender) || message.recipients.some((r) => targets.has(r));
}

/** Whether a delivered message falls under the warrant: a target sent or received it inside the window. */
export function isMessageInScope(warrant: Warrant, message: { sender: string; recipients: readonly string[]; serverTime: number }): boolean {
  return involvesTarget(warrant, message) && message.serverTime >= warrant.window.start && message.serverTime < warrant.window.end;
}

/** s.33: a renewal continues the same targets from the old expiry, is made in the 30 days before it, and lasts ≤ 6 months. */
export function checkRenewal(previous: Warrant, renewal: Warrant, calendar: WorkingDayCalendar = UK_CALENDAR): string | undefined {
  if (renewal.renews !== previous.id) return 'the renewal does not name the warrant it renews';
  if (renewal.id === previous.id) return 'a renewal is a new warrant with its own id';
  if (previous.urgent) return 'an urgent warrant is not renewed; a new warrant is issued';
  if (renewal.agency !== previous.agency) return 'a renewal cannot change the agency';
  if (renewal.window.start !== previous.window.end) return 'a renewal starts when the renewed warrant expires';
  if (renewal.issuedAt < previous.window.end - 30 * DAY_MS || renewal.issuedAt >= previous.window.end) return 'a renewal is made in the 30 days before expiry (s.33(2))';
  if (renewal.window.end > addLocalMonths(startOfLocalDay(renewal.window.start, calendar), 6, calendar)) return 'a renewal lasts at most six months';
  return undefined;
}

/** ss.34–38: a modification is the next revision of the same warrant; it cannot extend it or move it to another agency. */
export function checkModification(previous: Warrant, modified: Warrant): string | undefined {
  if (modified.id !== previous.id) return 'a modification keeps the warrant id';
  if (modified.revision !== previous.revision + 1) return `a modification is revision ${previous.revision + 1}`;
  if (modified.agency !== previous.agency || modified.urgent !== previous.urgent || modified.renews !== previous.renews) return 'a modification cannot change agency, urgency or renewal';
  if (modified.window.end > previous.window.end || modified.window.start < previous.window.start) return 'a modification cannot extend the window';
  if (modified.issuedAt < previous.issuedAt) return 'a modification cannot predate the warrant';
  return undefined;
}

