/**
 * The provider's side of accountable lawful access (docs/LAWFUL-ACCESS.md):
 * - it accepts a warrant only from an agency named in the pinned trust configuration, only when both
 *   signatures (Secretary of State, Judicial Commissioner) verify and it is in force, and commits it to
 *   the transparency log *before* the interception task exists;
 * - while a task's window is open, it retains messages to or from the target (prospective only: nothing
 *   earlier exists to retain), inside the transaction that accepts them;
 * - it exports what it retained to the warrant's agency as intercept-related information (IRI: a signed
 *   delivery record per message) and content (CC: the transport frame with the sealed payload and escrow
 *   field), as the warrant's products allow. It holds no key that opens any of it.
 */
import {
  cancellationSchema,
  cancellationLogEntry,
  calendarOf,
  canonicalJson,
  refusalLogEntry,
  refusalNotice,
  type SignedWarrant,
  urgentDeadlines,
  checkModification,
  releaseLogEntry,
  verifyReleaseRecord,
  type SignedReleaseRecord,
  commitToWarrant,
  deliveryRecordFor,
  openTrustConfig,
  signDeliveryRecord,
  AGENCY_REQUEST_LABEL,
  type ExportedIntercept,
  type InterceptQuery,
  type WarrantSubmission,
  signedTrustConfigSchema,
  verifyCancellation,
  verifyDocument,
  warrantLogEntry,
  warrantSchema,
  unsealBy,
  unsealLogEntry,
  type Unsealing,
  warrantSignaturesValid,
  warrantStatus,
  findKey,
  type SignedTrustConfig,
  type TrustConfig,
} from '@doublelock/lawful-access';
import type { TransparencyLog } from '@doublelock/log';
import { decodeFrame, DomainError, ErrorCode, fromBase64Url, toBase64Url } from '@doublelock/protocol';
import type { InterceptionStore, Intercept, SqlRunner } from '@doublelock/store';
import { z } from 'zod';

/** How far an agency request's time may be from the server clock; its nonce is remembered twice as long. */
const REQUEST_SKEW_MS = 5 * 60 * 1000;

export interface LawfulAccessConfig {
  /** The signed trust configuration, and the trust-root key it must verify under (pinned out of band). */
  trust: SignedTrustConfig;
  trustRootKey: string;
  /** This provider's delivery-record key: its id in the trust configuration and its Ed25519 secret key. */
  providerKeyId: string;
  providerSecretKey: Uint8Array;
}

export const lawfulAccessConfigFile = z.object({
  trust: signedTrustConfigSchema,
  trustRootKey: z.string().min(1),
  providerKeyId: z.string().min(1),
  /** base64url Ed25519 secret key */
  providerSecretKey: z.string().min(1),
});

export class LawfulAccess {
  readonly trust: TrustConfig;

  constructor(
    private readonly config: LawfulAccessConfig,
    private readonly store: InterceptionStore,
    private readonly log: TransparencyLog,
    private readonly now: () => number,
  ) {
    this.trust = openTrustConfig(config.trust, config.trustRootKey);
    if (!findKey(this.trust.provider, config.providerKeyId)) throw new Error(`provider key "${config.providerKeyId}" is not in the trust configuration`);
  }

  get signedTrust(): SignedTrustConfig {
    return this.config.trust;
  }

  /** Checks an agency's signed request: known agency, valid signature, fresh, never seen before. */
  async authenticate(signed: { request: { requestedAt: number; nonce: string }; agency: string; signature: string }): Promise<string> {
    const key = findKey(this.trust.agencies, signed.agency);
    if (!key || !verifyDocument(AGENCY_REQUEST_LABEL, signed.request, signed.signature, key.publicKey)) {
      throw new DomainError(ErrorCode.badSignature, 'The request is not signed by an agency in the trust configuration.');
    }
    const now = this.now();
    if (Math.abs(signed.request.requestedAt - now) > REQUEST_SKEW_MS) throw new DomainError(ErrorCode.forbidden, 'The request is stale (or from the future): sign a fresh one.');
    if (!(await this.store.useNonce(`${signed.agency}:${signed.request.nonce}`, now + 2 * REQUEST_SKEW_MS, now))) {
      throw new DomainError(ErrorCode.conflict, 'This request was already received (replay).');
    }
    return signed.agency;
  }

  /** Verifies and logs a warrant, then starts interception of its targets. */
  async submitWarrant(agency: string, submission: WarrantSubmission): Promise<{ commitment: string; leafIndex: number; from: number; until: number }> {
    const { warrant: signed } = submission;
    const w = signed.warrant;
    if (w.agency !== agency) throw new DomainError(ErrorCode.forbidden, `The warrant names agency "${w.agency}", not "${agency}".`);
    const now = this.now();
    // Refusals and cancellations bind: a refused id is dead; a cancelled revision (or an earlier one) stays cancelled.
    if (await this.store.refused(w.id)) throw new DomainError(ErrorCode.forbidden, `Warrant ${w.id} was refused by a Judicial Commissioner (logged).`, { problem: 'refused' });
    const cancelled = await this.store.cancelledRevision(w.id);
    if (cancelled !== undefined && w.revision <= cancelled)
      throw new DomainError(ErrorCode.forbidden, `Warrant ${w.id} revision ${cancelled} was cancelled (logged).`, { problem: 'cancelled' });
    const status = warrantStatus(signed, this.trust, now);
    if (!status.inForce) {
      // A refusal the agency itself presents is logged too, so the id is dead for everyone.
      if (status.problem === 'refused') await this.#logRefusal(signed);
      throw new DomainError(ErrorCode.forbidden, `The warrant is not in force (${status.problem}): ${status.detail}.`, { problem: status.problem });
    }
    // s.24: once an urgent warrant on a target lapsed unapproved (or was refused), the next one needs a judge first.
    if (w.urgent && !signed.decision) {
      const earlier = await this.store.unapprovedUrgent(w.targets, now, w.id);
      if (earlier.length > 0)
        throw new DomainError(ErrorCode.forbidden, `An urgent warrant on the same target (${earlier.join(', ')}) was not approved in time: this one needs a Judicial Commissioner's approval first.`, {
          problem: 'serial_urgent',
        });
    }
    if (w.revision > 0) {
      const previous = await this.store.latestWarrant(w.id);
      if (!previous) throw new DomainError(ErrorCode.validation, `Revision ${w.revision} modifies a warrant this provider never received.`);
      const problem = checkModification(warrantSchema.parse(JSON.parse(previous.document)), w);
      if (problem) throw new DomainError(ErrorCode.validation, `Invalid modification: ${problem}.`);
    }
    const existing = await this.store.task(w.id);
    if (existing && existing.revision >= w.revision) throw new DomainError(ErrorCode.conflict, `Warrant ${w.id} revision ${existing.revision} is already in place.`);

    // Logged first: no task exists until the public log shows the warrant's commitment.
    const { commitment } = commitToWarrant(w, fromBase64Url(submission.commitmentNonce));
    const { firstIndex } = await this.log.append([warrantLogEntry(commitment, w)]);
    await this.store.recordWarrant(w.id, w.revision, JSON.stringify(w), this.now());
    // Kept for unsealing: published in the log when the secrecy period ends (publishDueUnsealings).
    await this.store.recordOpening({ commitment: toBase64Url(commitment), warrantId: w.id, revision: w.revision, signedWarrant: JSON.stringify(signed), nonce: submission.commitmentNonce, unsealBy: unsealBy(w) });
    await this.store.putTask({
      warrantId: w.id,
      revision: w.revision,
      targets: w.targets,
      agency: w.agency,
      products: w.products,
      windowStart: status.from,
      windowEnd: status.until,
      maxMessages: w.limits.maxMessages,
      commitment,
      leafIndex: firstIndex,
    });
    if (w.urgent) await this.store.recordUrgent(w.id, w.targets, urgentDeadlines(w.issuedAt, calendarOf(this.trust)).approveBy, signed.decision ? signed.decision.decidedAt : null);
    return { commitment: toBase64Url(commitment), leafIndex: firstIndex, from: status.from, until: status.until };
  }

  async #logRefusal(signed: SignedWarrant): Promise<number> {
    const notice = refusalNotice(signed);
    const { firstIndex } = await this.log.append([refusalLogEntry(notice)]);
    await this.store.recordRefusal(notice.warrantId, JSON.stringify(notice), firstIndex);
    return firstIndex;
  }

  /**
   * A Judicial Commissioner's decision, delivered after the warrant (urgent ones take effect before it):
   * a refusal is logged and ends interception at once, and the warrant id is dead from then on; an approval
   * in time lets an urgent warrant continue as a normal one to its window's end, without re-submission.
   */
  async decide(signed: SignedWarrant): Promise<{ refused: true; leafIndex: number } | { refused: false; from: number; until: number }> {
    const w = signed.warrant;
    const d = signed.decision;
    if (!d) throw new DomainError(ErrorCode.validation, 'The warrant carries no decision.');
    const now = this.now();
    const status = warrantStatus(signed, this.trust, now);
    if (d.decision === 'refused') {
      // warrantStatus says "refused" only once the judge's signature verified
      if (status.inForce || status.problem !== 'refused') throw new DomainError(ErrorCode.badSignature, 'The refusal is not signed by a Judicial Commissioner in the trust configuration.');
      const leafIndex = await this.#logRefusal(signed);
      await this.store.endTask(w.id, now);
      return { refused: true, leafIndex };
    }
    const recorded = await this.store.latestWarrant(w.id);
    if (!recorded || canonicalJson(warrantSchema.parse(JSON.parse(recorded.document))) !== canonicalJson(w))
      throw new DomainError(ErrorCode.notFound, 'This provider holds no such warrant revision: submit the approved warrant instead.');
    if (await this.store.refused(w.id)) throw new DomainError(ErrorCode.forbidden, `Warrant ${w.id} was refused (logged).`, { problem: 'refused' });
    if (!status.inForce) throw new DomainError(ErrorCode.forbidden, `The warrant is not in force (${status.problem}): ${status.detail}.`, { problem: status.problem });
    const task = await this.store.task(w.id);
    if (task?.revision === w.revision) await this.store.setTaskEnd(w.id, status.until);
    await this.store.approveUrgent(w.id, d.decidedAt);
    return { refused: false, from: status.from, until: status.until };
  }

  /**
   * A cancellation (s.39) is used once (its nonce) and logged; it ends interception only if the revision
   * in place is the one it names (or an earlier one): an old cancellation cannot end what was approved since.
   */
  async cancel(cancellation: z.infer<typeof cancellationSchema>): Promise<{ ended: boolean; leafIndex: number }> {
    if (!verifyCancellation(cancellation, this.trust)) throw new DomainError(ErrorCode.badSignature, 'The cancellation is not signed by a Secretary of State key in the trust configuration.');
    if (!(await this.store.claimCancellation(cancellation))) throw new DomainError(ErrorCode.conflict, 'This cancellation was already received (each is used once).');
    const { firstIndex } = await this.log.append([cancellationLogEntry(cancellation)]);
    await this.store.cancellationLogged(cancellation.nonce, firstIndex);
    const task = await this.store.task(cancellation.warrantId);
    const ended = task !== undefined && task.revision <= cancellation.revision && (await this.store.endTask(cancellation.warrantId, cancellation.cancelledAt));
    return { ended, leafIndex: firstIndex };
  }

  /**
   * Unsealing: publishes in the log the opening of every warrant revision whose secrecy period has ended
   * (run on a timer by the server, and at start). Returns the leaves appended.
   */
  async publishDueUnsealings(): Promise<number[]> {
    const published: number[] = [];
    for (const due of await this.store.dueOpenings(this.now())) {
      const { firstIndex } = await this.log.append([unsealLogEntry(JSON.parse(due.signedWarrant) as SignedWarrant, fromBase64Url(due.nonce))]);
      await this.store.openingPublished(due.commitment, firstIndex);
      published.push(firstIndex);
    }
    return published;
  }

  /**
   * An opening someone else holds (a custodian), presented for publication: it must open a warrant
   * commitment this provider logged, carry signatures that verify, and come after the secrecy period;
   * published once.
   */
  async unseal(opening: Unsealing): Promise<{ leafIndex: number; duplicate: boolean }> {
    const nonce = fromBase64Url(opening.nonce);
    const commitment = toBase64Url(commitToWarrant(opening.warrant.warrant, nonce).commitment);
    const logged = await this.store.opening(commitment);
    if (!logged) throw new DomainError(ErrorCode.validation, 'This warrant and nonce open no warrant commitment this provider logged (forged or mismatched).', { problem: 'bad_opening' });
    if (!warrantSignaturesValid(opening.warrant, this.trust))
      throw new DomainError(ErrorCode.validation, 'The warrant’s signatures do not verify under the trust configuration.', { problem: 'bad_opening' });
    if (logged.leafIndex !== null) return { leafIndex: logged.leafIndex, duplicate: true };
    if (this.now() < logged.unsealBy)
      throw new DomainError(ErrorCode.forbidden, `The warrant's secrecy period lasts until ${new Date(logged.unsealBy).toISOString()}: it cannot be unsealed before.`, { problem: 'secrecy_not_over' });
    const { firstIndex } = await this.log.append([unsealLogEntry(opening.warrant, nonce)]);
    await this.store.openingPublished(commitment, firstIndex);
    return { leafIndex: firstIndex, duplicate: false };
  }

  /**
   * Publishes a custodian's signed release record in the transparency log (custodians log every share
   * they release, so the public can count decryptions). Only records signed by that custodian's key in
   * the trust configuration are accepted; the same release is logged once.
   */
  async publishRelease(signed: SignedReleaseRecord): Promise<{ leafIndex: number; duplicate: boolean }> {
    const custodian = this.trust.custodians.find((c) => c.index === signed.record.custodian);
    if (!custodian || !verifyReleaseRecord(signed, custodian.signingKey)) {
      throw new DomainError(ErrorCode.badSignature, 'The release record is not signed by that custodian’s key in the trust configuration.');
    }
    const key = `release:${signed.record.custodian}:${signed.record.requestId}:${signed.record.messageDigest}`;
    const earlier = await this.store.loggedRelease(key);
    if (earlier !== undefined) return { leafIndex: earlier, duplicate: true };
    const { firstIndex } = await this.log.append([releaseLogEntry(signed)]);
    await this.store.recordRelease(key, firstIndex);
    return { leafIndex: firstIndex, duplicate: false };
  }

  /** The retention hook for one accepted message (inside its transaction). */
  retention(m: { groupId: string; clientMessageId: string; senderUsername: string; senderDevice: string; serverTime: number; frame: Uint8Array }) {
    return (tx: SqlRunner, accepted: { seq: number; recipientDevices: string[] }) => this.store.retain(tx, { ...m, ...accepted });
  }

  /** What the agency may take away for its warrant: signed IRI and, if authorised, CC. */
  async export(agency: string, query: InterceptQuery): Promise<{ intercepts: ExportedIntercept[] }> {
    const task = await this.store.task(query.warrantId);
    if (!task || task.agency !== agency) throw new DomainError(ErrorCode.notFound, 'No warrant of yours with this id.');
    const retained = await this.store.intercepts(task.warrantId, query.after, query.limit);
    return { intercepts: retained.map((r) => this.#exportOne(r, task.products)) };
  }

  #exportOne(r: Intercept, products: string[]): ExportedIntercept {
    let field: Uint8Array = new Uint8Array(0);
    try {
      field = decodeFrame(r.frame).escrow?.field ?? field;
    } catch {
      // Not a frame: honest recipients refuse such a message; its IRI records an empty escrow field.
    }
    const out: ExportedIntercept = { id: r.id };
    if (products.includes('iri') && r.recipients.length > 0) {
      const record = deliveryRecordFor(
        {
          messageId: `${r.groupId}.${r.seq}`,
          sender: r.sender,
          recipients: r.recipients,
          serverTime: r.serverTime,
          size: r.size,
          // every part of the escrow field's label: custodians check the field against these
          groupId: r.groupId,
          senderDevice: r.senderDevice,
          recipientDevices: r.recipientDevices,
          clientMessageId: r.clientMessageId,
        },
        field,
      );
      out.iri = signDeliveryRecord(record, this.config.providerKeyId, this.config.providerSecretKey);
    }
    if (products.includes('cc')) {
      out.cc = { frame: toBase64Url(r.frame), groupId: r.groupId, sender: { username: r.sender, deviceId: r.senderDevice }, clientMessageId: r.clientMessageId };
    }
    return out;
  }
}
