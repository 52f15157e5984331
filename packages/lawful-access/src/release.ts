/**
 * A custodian's release rules, as one pure function: given a signed share request and what the custodian
 * knows (its pinned trust configuration, the time, its own records), decide whether to release a
 * decryption share. Each check is one the custodian makes by itself, trusting neither the agency nor the
 * provider nor the other custodians (DESIGN.md, "Lawful access: details that matter"):
 *   the agency's signature, addressed to this custodian, fresh and never seen before;
 *   both warrant signatures (or an urgent warrant inside its three working days), not cancelled/refused;
 *   the warrant's commitment is in the transparency log at a witnessed checkpoint;
 *   the provider signed the delivery record, and it names exactly this escrow field;
 *   the warrant authorises content (CC), and the message's sender or a recipient is a target;
 *   the server time is inside the warrant's window and the period in which it is in force, and not
 *   before the warrant's log-attested inclusion time (whatever dates the document carries);
 *   the field's epoch fits the delivery time (escrowEpochAccepted, the recipients' rule too) and its
 *   shares are not erased;
 *   the field is a valid TDH2 ciphertext under the label derived from the delivery record (a field lifted
 *   from another message, or with altered bytes, is refused: custodians are no decryption oracle);
 *   the warrant's message limit is not exceeded.
 * Every refusal has a stable code. The service (apps/custodian) loads the inputs, calls this, and on
 * release records the request id and a signed release record in one transaction.
 */
import { fromBase64Url, lengthPrefixed, toBase64Url } from '@doublelock/protocol';
import { deliveryLabel, verifyDeliveryRecord } from './delivery.ts';
import { DAY_MS, epochAt, escrowEpochAccepted } from './epoch.ts';
import { type ParsedEscrowField, escrowFieldDigest, escrowFieldValid, parseEscrowField } from './escrow.ts';
import { type LogInclusionVerifier, messageDigest, warrantLogEntry, witnessedAt } from './logEntries.ts';
import { type SignedShareRequest, verifyShareRequestSignature } from './shareRequest.ts';
import type { TrustConfig } from './trust.ts';
import { type Cancellation, type RefusalNotice, type WarrantProblem, commitToWarrant, involvesTarget, isMessageInScope, warrantStatus } from './warrant.ts';

export const SHARE_BINDING_LABEL = 'doublelock/lawful-access/share-binding/v1';
export const MAX_REQUEST_AGE_MS = 5 * 60_000;
export const MAX_CLOCK_SKEW_MS = 60_000;

export type RefusalCode =
  | WarrantProblem
  | 'bad_request_signature'
  | 'agency_mismatch'
  | 'wrong_custodian'
  | 'stale_request'
  | 'replay'
  | 'superseded'
  | 'not_in_log'
  | 'bad_delivery_record'
  | 'field_mismatch'
  | 'bad_field'
  | 'field_not_for_message'
  | 'product_not_authorised'
  | 'not_target'
  | 'outside_window'
  | 'epoch_mismatch'
  | 'epoch_unknown'
  | 'epoch_erased'
  | 'limit_reached';

export interface CustodianView {
  trust: TrustConfig;
  /** this custodian's index */
  custodian: number;
  now: number;
  verifyInclusion: LogInclusionVerifier;
  /** the request id was seen before */
  requestSeen: boolean;
  /** distinct messages released under the warrant (counted from the log: by every custodian) */
  releasedMessages: number;
  /** distinct messages released under the warrant since a time (for the per-day limit), from the log */
  releasedMessagesSince: (since: number) => number;
  /** this message was already released under the warrant (a retry does not count twice) */
  messageAlreadyReleased: boolean;
  /** the highest revision of this warrant id the custodian has seen, if any */
  highestRevision: number | undefined;
  /** the state of the field's epoch at this custodian */
  epochState: (epoch: number) => 'active' | 'erased' | 'unknown';
  /** the certified public key of an epoch this custodian holds a share of */
  epochPublicKey: (epoch: number) => Uint8Array | undefined;
  /** cancellations the custodian has been sent directly */
  cancellations: readonly Cancellation[];
  /** Judicial Commissioners' refusals the custodian knows of (logged, or sent to it): each makes its warrant id dead */
  refusals: readonly RefusalNotice[];
}

export type ReleaseDecision =
  | { release: true; field: ParsedEscrowField; binding: Uint8Array; warrantCommitment: Uint8Array; messageDigest: string }
  | { release: false; code: RefusalCode; reason: string };

const refuse = (code: RefusalCode, reason: string): ReleaseDecision => ({ release: false, code, reason });

/** What each DLEQ proof is bound to: the warrant and its revision, the custodian and the ciphertext (the whole field). */
export function shareBinding(warrant: { id: string; revision: number }, custodian: number, field: Uint8Array): Uint8Array {
  return lengthPrefixed(SHARE_BINDING_LABEL, warrant.id, String(warrant.revision), String(custodian), field);
}

export function evaluateShareRequest(signed: SignedShareRequest, view: CustodianView): ReleaseDecision {
  const { request } = signed;
  const { warrant } = request.warrant;
  if (!verifyShareRequestSignature(signed, view.trust)) return refuse('bad_request_signature', 'the request is not signed by an agency key in the trust configuration');
  if (signed.agency !== warrant.agency) return refuse('agency_mismatch', `the warrant is for agency ${warrant.agency}, not ${signed.agency}`);
  if (request.custodian !== view.custodian) return refuse('wrong_custodian', `the request is addressed to custodian ${request.custodian}`);
  if (request.requestedAt < view.now - MAX_REQUEST_AGE_MS || request.requestedAt > view.now + MAX_CLOCK_SKEW_MS)
    return refuse('stale_request', 'the request is too old or from the future');
  if (view.requestSeen) return refuse('replay', 'this request id was already used');

  const status = warrantStatus(request.warrant, view.trust, view.now, [...view.cancellations, ...request.cancellations], view.refusals);
  if (!status.inForce) return refuse(status.problem, status.detail);
  if (view.highestRevision !== undefined && warrant.revision < view.highestRevision)
    return refuse('superseded', `revision ${warrant.revision} was superseded by revision ${view.highestRevision}`);

  let commitment: Uint8Array;
  try {
    commitment = commitToWarrant(warrant, fromBase64Url(request.commitmentNonce)).commitment;
  } catch {
    return refuse('not_in_log', 'the commitment opening is malformed');
  }
  const entry = warrantLogEntry(commitment, warrant);
  if (!view.verifyInclusion(entry, request.inclusion, request.inclusion.checkpoint))
    return refuse('not_in_log', 'the warrant commitment is not proven to be in the transparency log');
  let loggedBy: number;
  try {
    loggedBy = witnessedAt(request.inclusion.checkpoint, view.trust.log);
  } catch (error) {
    return refuse('not_in_log', `the checkpoint carries no witnessed time: ${(error as Error).message}`);
  }

  const { record } = request.delivery;
  if (!verifyDeliveryRecord(request.delivery, view.trust)) return refuse('bad_delivery_record', 'the delivery record is not signed by the provider');
  let fieldBytes: Uint8Array;
  let field: ParsedEscrowField;
  try {
    fieldBytes = fromBase64Url(request.field);
    field = parseEscrowField(fieldBytes);
  } catch (error) {
    return refuse('bad_field', (error as Error).message);
  }
  if (toBase64Url(escrowFieldDigest(fieldBytes)) !== record.fieldDigest) return refuse('field_mismatch', 'the escrow field is not the one the provider delivered');

  if (!warrant.products.includes('cc')) return refuse('product_not_authorised', 'the warrant authorises intercept-related information only, not content');
  if (!involvesTarget(warrant, record))
    return refuse('not_target', 'neither the sender nor any recipient is a target of the warrant');
  if (record.serverTime < status.from || record.serverTime >= status.until || !isMessageInScope(warrant, record))
    return refuse('outside_window', 'the message was delivered outside the period the warrant covers');
  // Prospective from the log's point of view: the signers' dates cannot reach back past the log entry.
  if (record.serverTime < loggedBy)
    return refuse('outside_window', `the message was delivered before the warrant was in the log (witnessed ${new Date(loggedBy).toISOString()})`);

  if (!escrowEpochAccepted(field.epoch, record.serverTime, view.trust.epoch.lengthMs))
    return refuse('epoch_mismatch', `the field's epoch ${field.epoch} does not fit the delivery time (epoch ${epochAt(record.serverTime, view.trust.epoch.lengthMs)})`);
  const state = view.epochState(field.epoch);
  if (state === 'erased') return refuse('epoch_erased', `epoch ${field.epoch} is past its retention: its shares are erased`);
  const epochKey = view.epochPublicKey(field.epoch);
  if (state === 'unknown' || !epochKey) return refuse('epoch_unknown', `this custodian holds no share for epoch ${field.epoch}`);
  if (!escrowFieldValid(epochKey, field, deliveryLabel(record, field.epoch)))
    return refuse('field_not_for_message', 'the escrow field is not a valid TDH2 ciphertext for this message (group, sender, recipients, message id, epoch)');

  if (!view.messageAlreadyReleased && view.releasedMessages >= warrant.limits.maxMessages)
    return refuse('limit_reached', `the warrant's limit of ${warrant.limits.maxMessages} messages is reached`);
  const perDay = warrant.limits.maxPerDay;
  if (perDay !== undefined && !view.messageAlreadyReleased && view.releasedMessagesSince(view.now - DAY_MS) >= perDay)
    return refuse('limit_reached', `the warrant's limit of ${perDay} messages a day is reached`);

  return {
    release: true,
    field,
    binding: shareBinding(warrant, view.custodian, fieldBytes),
    warrantCommitment: commitment,
    messageDigest: messageDigest(commitment, record.messageId),
  };
}
