/**
 * The custodian operator's review API (apps/custodian, `doublelock custodian serve --operator-key`): a
 * custodian whose deployment asks for manual approval holds every share request that passes its release
 * rules until its human operator has looked at it and decided. Shared by the custodian service and the
 * custodians' console in the web app.
 *
 * Every operator call is a signed command: Ed25519 (by a key given to `--operator-key`) over
 * lengthPrefixed(OPERATOR_REQUEST_LABEL, canonical JSON of `request`) — signed and verified by
 * @doublelock/lawful-access operatorRequests.ts. It is addressed to one custodian (its index), fresh
 * (±5 min of the custodian's clock) and single-use (its nonce is remembered), so it cannot be redirected,
 * replayed or kept for later.
 *
 *   POST /v1/operator/reviews    { request: { …, command: { action: 'list', state, after?, limit? } }, signature }
 *        → { reviews: Review[], next, total }: one page (at most `limit`, ≤ 500); `next` is the cursor of the
 *        following page (null after the last), `total` how many reviews are in that state. Pending and 'all'
 *        pages run oldest first; 'decided' (approved or refused) pages newest decision first.
 *   POST /v1/operator/decisions  { request: { …, command: { action: 'decide', reviewId, decision, reason } }, signature }
 *        → { review: Review }
 * Errors are { code, message }: validation_failed (400), bad_operator_signature (401), stale_request
 * (401), wrong_custodian (403), replay (409), no_operator (404: no operator key configured), not_found
 * (404), already_decided (409).
 */
import { z } from 'zod';
import { bytes, storableText } from './common.ts';

export const OPERATOR_REQUEST_LABEL = 'doublelock/custodian/operator-request/v1';
/** how far an operator command's time may be from the custodian's clock */
export const OPERATOR_REQUEST_SKEW_MS = 5 * 60_000;

export const reviewState = z.enum(['pending', 'approved', 'refused']);
/** the most reviews one list command returns; the operator pages through the rest with `after` */
export const REVIEW_PAGE_MAX = 500;
/** a page boundary: the sort key (ms) and review id of the last review of the page before */
export const reviewCursor = z.string().regex(/^\d{1,16}\.[A-Za-z0-9_-]{22,64}$/, 'a cursor from the previous page');
export type ReviewState = z.infer<typeof reviewState>;

export const operatorCommand = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('list'),
    state: z.enum(['pending', 'approved', 'refused', 'decided', 'all']),
    /** the `next` cursor of the previous page */
    after: reviewCursor.optional(),
    limit: z.number().int().min(1).max(REVIEW_PAGE_MAX).optional(),
  }),
  z.object({
    action: z.literal('decide'),
    reviewId: z.string().regex(/^[A-Za-z0-9_-]{22,64}$/),
    decision: z.enum(['approve', 'refuse']),
    /** the operator's reasons, kept with the decision */
    reason: storableText(2000).pipe(z.string().min(1)),
  }),
]);
export type OperatorCommand = z.infer<typeof operatorCommand>;

export const operatorRequest = z.object({
  /** the custodian index this command is for */
  custodian: z.number().int().min(1).max(255),
  /** ms since the epoch, the operator's clock */
  issuedAt: z.number().int().nonnegative(),
  /** 16 random bytes, base64url: each command is accepted once */
  nonce: bytes({ exact: 16 }),
  command: operatorCommand,
});
export type OperatorRequest = z.infer<typeof operatorRequest>;

export const signedOperatorRequest = z.object({ request: operatorRequest, signature: bytes({ exact: 64 }) });
export type SignedOperatorRequest = z.infer<typeof signedOperatorRequest>;

/**
 * One share request held for review: everything the operator judges it on. The documents are the ones the
 * agency sent (as in @doublelock/lawful-access shareRequest.ts), already checked by every release rule.
 */
export const operatorReview = z.object({
  reviewId: z.string(),
  state: reviewState,
  /** when the first request for this message under this warrant revision arrived */
  createdAt: z.number(),
  agency: z.string(),
  requestId: z.string(),
  warrant: z.object({
    id: z.string(),
    revision: z.number(),
    /** the signed warrant: the Secretary of State's issue signature and the Judicial Commissioner's decision */
    signed: z.unknown(),
    /** the hiding commitment the log holds, base64url */
    commitment: z.string(),
    /** the warrant entry's inclusion in the log: leaf index, tree size and the witnessed checkpoint */
    inclusion: z.object({ leafIndex: z.number(), treeSize: z.number(), checkpoint: z.string() }),
    /** the log-attested time of that checkpoint (the warrant's window starts no earlier) */
    loggedAt: z.number(),
    /** when the double lock holds: from, until (ms); urgent = in force on the Secretary of State's signature alone */
    inForce: z.object({ from: z.number(), until: z.number(), urgent: z.boolean(), approved: z.boolean() }),
  }),
  /** the provider-signed delivery record of the message (sender, recipients, time, field digest) */
  delivery: z.unknown(),
  /** the warrant's limits and how much of them the log shows used (all custodians' releases), now */
  limits: z.object({ maxMessages: z.number(), maxPerDay: z.number().nullable(), releasedMessages: z.number(), releasedLast24h: z.number() }),
  decision: z
    .object({
      decision: z.enum(['approve', 'refuse']),
      reason: z.string(),
      decidedAt: z.number(),
      /** the operator's public key and the signed command, kept as the record of who decided */
      operatorKey: z.string(),
      signed: signedOperatorRequest,
    })
    .nullable(),
});
export type OperatorReview = z.infer<typeof operatorReview>;

export const operatorReviewList = z.object({ reviews: z.array(operatorReview), next: reviewCursor.nullable(), total: z.number().int().nonnegative() });
export const operatorDecisionResponse = z.object({ review: operatorReview });
