/**
 * The custodian operator's side of the review API (docs/LAWFUL-ACCESS.md, "The custodian operator's
 * review"; wire schemas in @doublelock/protocol custodianOperator.ts): list what waits, approve or refuse,
 * each call a command signed in this browser with the operator key (fresh, addressed to one custodian,
 * single use). Before the operator decides, the browser re-checks what the custodian shows it, from the
 * pinned trust configuration and the public log alone: the double lock's signatures, the warrant's entry in a
 * checkpoint signed by the log and cosigned by the witnesses (with the inclusion proof fetched from the log),
 * the provider's signature on the delivery record and that a target is in it inside the window, the limits.
 */
import { verifyDeliveryRecord, signedDeliveryRecordSchema } from '@doublelock/lawful-access/delivery';
import { logInclusionVerifier, warrantLogEntry, witnessedAt } from '@doublelock/lawful-access/logEntries';
import { signOperatorRequest } from '@doublelock/lawful-access/operatorRequests';
import type { TrustConfig } from '@doublelock/lawful-access/trust';
import { isMessageInScope, signedWarrantSchema, warrantStatus } from '@doublelock/lawful-access/warrant';
import { operatorDecisionResponse, operatorReviewList, type OperatorReview } from '@doublelock/protocol/custodianOperator';
import { fromBase64Url } from '@doublelock/protocol/encoding';
import { logInclusionProofResponse } from '@doublelock/protocol/log';
import { responseError } from '../ui/errors.ts';
import { withSecretKey } from './keyring.ts';

type Custodian = TrustConfig['custodians'][number];

async function post(custodian: Custodian, path: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${custodian.url.replace(/\/$/, '')}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw await responseError(response);
  return response.json();
}

export interface ReviewPage {
  reviews: OperatorReview[];
  /** the cursor of the following page; null after the last */
  next: string | null;
  /** how many reviews are in that state in all */
  total: number;
}

/** One page of the custodian's reviews (pending: oldest first; decided: newest decision first), after `after`. */
export async function listReviews(custodian: Custodian, state: 'pending' | 'decided', after: string | null, limit: number): Promise<ReviewPage> {
  const command = { action: 'list' as const, state, limit, ...(after ? { after } : {}) };
  const signed = await withSecretKey('custodian', (_id, key) => signOperatorRequest(custodian.index, command, key));
  return operatorReviewList.parse(await post(custodian, '/v1/operator/reviews', signed));
}

export async function decide(custodian: Custodian, reviewId: string, decision: 'approve' | 'refuse', reason: string): Promise<OperatorReview> {
  const signed = await withSecretKey('custodian', (_id, key) => signOperatorRequest(custodian.index, { action: 'decide', reviewId, decision, reason }, key));
  return operatorDecisionResponse.parse(await post(custodian, '/v1/operator/decisions', signed)).review;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const when = (t: number) => new Date(t).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

/** Every check the operator should see before deciding, recomputed here. */
export async function checkReview(review: OperatorReview, trust: TrustConfig, now = Date.now()): Promise<Check[]> {
  const checks: Check[] = [];
  const signed = signedWarrantSchema.safeParse(review.warrant.signed);
  if (!signed.success) return [{ name: 'Warrant', ok: false, detail: 'the custodian shows no well-formed signed warrant' }];
  const w = signed.data;
  const status = warrantStatus(w, trust, now);
  checks.push(
    status.inForce
      ? { name: 'Double lock', ok: true, detail: `issued by ${w.issue.signer} (Secretary of State) and ${w.decision ? `approved by ${w.decision.signer} (Judicial Commissioner)` : 'urgent, not yet approved'}: both signatures valid under the trust configuration; in force until ${when(status.until)}` }
      : { name: 'Double lock', ok: false, detail: status.detail },
  );
  // The warrant's entry in the public log: checkpoint signed by the log, cosigned by the witness quorum,
  // and the inclusion proof (fetched from the log) leading from the entry to that checkpoint's root.
  const { inclusion } = review.warrant;
  try {
    const loggedAt = witnessedAt(inclusion.checkpoint, trust.log);
    const response = await fetch(`/v1/log/proof/inclusion?index=${inclusion.leafIndex}&treeSize=${inclusion.treeSize}`);
    if (!response.ok) throw await responseError(response);
    const proof = logInclusionProofResponse.parse(await response.json());
    const entry = warrantLogEntry(fromBase64Url(review.warrant.commitment), w.warrant);
    const included = logInclusionVerifier(trust.log)(entry, { leafIndex: inclusion.leafIndex, treeSize: inclusion.treeSize, path: proof.proof, checkpoint: inclusion.checkpoint }, inclusion.checkpoint);
    checks.push(
      included
        ? { name: 'Public log', ok: true, detail: `the warrant's commitment is entry ${inclusion.leafIndex} of a checkpoint of ${inclusion.treeSize} entries, signed by the log and cosigned by ${trust.log.witnessQuorum} witness(es) at ${when(loggedAt)}` }
        : { name: 'Public log', ok: false, detail: 'the inclusion proof does not lead to the checkpoint’s root, or the checkpoint is not signed and cosigned as the trust configuration requires' },
    );
  } catch (error) {
    checks.push({ name: 'Public log', ok: false, detail: (error as Error).message });
  }
  const delivery = signedDeliveryRecordSchema.safeParse(review.delivery);
  if (!delivery.success || !verifyDeliveryRecord(delivery.data, trust)) {
    checks.push({ name: 'Delivery record', ok: false, detail: 'not signed by the provider the trust configuration names' });
  } else {
    const r = delivery.data.record;
    const inScope = isMessageInScope(w.warrant, r);
    checks.push({ name: 'Delivery record', ok: true, detail: `signed by the provider: ${r.sender} → ${r.recipients.join(', ')} at ${when(r.serverTime)}` });
    checks.push({
      name: 'Target and window',
      ok: inScope,
      detail: inScope ? `a target (${w.warrant.targets.join(', ')}) sent or received it inside the window (${when(w.warrant.window.start)} to ${when(w.warrant.window.end)})` : 'no target sent or received it inside the warrant’s window',
    });
  }
  const l = review.limits;
  const underLimits = l.releasedMessages < l.maxMessages && (l.maxPerDay === null || l.releasedLast24h < l.maxPerDay);
  checks.push({ name: 'Limits', ok: underLimits, detail: `${l.releasedMessages} of at most ${l.maxMessages} message(s) released under this warrant${l.maxPerDay === null ? '' : `; ${l.releasedLast24h} of ${l.maxPerDay} in the last 24 hours`} (counted from the log)` });
  return checks;
}
