/**
 * The agency's workflow against a provider and its custodians, run by the CLI (`doublelock agency …`) and
 * by the web app's agency console alike (browser-safe: fetch and @noble only): submit a warrant; collect
 * what was retained under it; for each message, check it is one the warrant covers (the provider's
 * signature on its delivery record, a target in it, inside the window, the content matching the record —
 * anything else is refused here, before any custodian is asked), prove the warrant's log inclusion at a
 * witnessed checkpoint, ask custodians for decryption shares, verify every proof, combine t of them,
 * recover the content key, open the sealed payload, and assemble an evidence bundle.
 */
// Subpath imports: the package index would pull every lawful-access module into the browser bundle.
import { decryptWithCustodians } from '@doublelock/lawful-access/agency';
import { interceptsResponse, signAgencyRequest, warrantSubmissionResponse, type ExportedIntercept } from '@doublelock/lawful-access/agencyRequests';
import { fetchEpochCertificate } from '@doublelock/lawful-access/ceremony';
import { verifyDeliveryRecord } from '@doublelock/lawful-access/delivery';
import { parseEscrowField } from '@doublelock/lawful-access/escrow';
import { buildEvidenceBundle, type EvidenceBundle } from '@doublelock/lawful-access/evidence';
import type { LogInclusion } from '@doublelock/lawful-access/logEntries';
import { signShareRequest } from '@doublelock/lawful-access/shareRequest';
import { openTrustConfig, signedTrustConfigSchema, type SignedTrustConfig, type TrustConfig } from '@doublelock/lawful-access/trust';
import { isMessageInScope, type SignedWarrant } from '@doublelock/lawful-access/warrant';
import { LogHttpClient } from '@doublelock/log/http';
import { parseCheckpoint, parseNote } from '@doublelock/log/verifier';
import { decodeFrame, fromBase64Url, toBase64Url } from '@doublelock/protocol';
import { randomBytes } from '@noble/hashes/utils.js';
import type { z } from 'zod';
import { envelopeContextBytes } from '../envelope/envelope.ts';
import { open } from '../envelope/committingAead.ts';
import { decodeContent, type MessageContent } from '../envelope/content.ts';

export interface Agency {
  id: string;
  secretKey: Uint8Array;
}

async function post<T>(url: string, body: unknown, schema: z.ZodType<T>): Promise<T> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await response.json().catch(() => ({}))) as { code?: string; message?: string };
  if (!response.ok) throw new Error(`${new URL(url).pathname}: ${response.status} ${json.code ?? ''} ${json.message ?? ''}`.trim());
  return schema.parse(json);
}

/** The deployment's trust configuration, from the server, verified under the pinned trust root. */
export async function fetchTrust(server: string, trustRoot: string): Promise<{ signed: SignedTrustConfig; trust: TrustConfig }> {
  const response = await fetch(`${server}/v1/lawful-access`);
  const body = (await response.json()) as { enabled: boolean; trust?: unknown };
  if (!body.enabled) throw new Error(`lawful access is off on ${server}`);
  const signed = signedTrustConfigSchema.parse(body.trust);
  return { signed, trust: openTrustConfig(signed, trustRoot) };
}

export async function submitWarrant(server: string, agency: Agency, warrant: SignedWarrant) {
  const commitmentNonce = toBase64Url(randomBytes(32));
  const accepted = await post(`${server}/v1/lawful-access/warrants`, signAgencyRequest({ warrant, commitmentNonce }, agency.id, agency.secretKey), warrantSubmissionResponse);
  return { warrantId: warrant.warrant.id, commitmentNonce, commitment: accepted.commitment, leafIndex: accepted.leafIndex };
}

/** Everything retained under the warrant, page by page. */
export async function collectIntercepts(server: string, agency: Agency, warrantId: string, onPage?: (count: number) => void): Promise<ExportedIntercept[]> {
  const all: ExportedIntercept[] = [];
  for (let after = 0; ; ) {
    const { intercepts } = await post(`${server}/v1/lawful-access/intercepts`, signAgencyRequest({ warrantId, after, limit: 500 }, agency.id, agency.secretKey), interceptsResponse);
    if (intercepts.length === 0) return all;
    all.push(...intercepts);
    onPage?.(all.length);
    after = intercepts.at(-1)!.id;
  }
}

/** The warrant commitment's inclusion in the newest checkpoint cosigned by the configuration's witness quorum. */
export async function warrantInclusion(server: string, trust: TrustConfig, leafIndex: number): Promise<LogInclusion> {
  const log = new LogHttpClient(server);
  const note = trust.log.witnessQuorum > 0 ? await log.witnessedCheckpoint(trust.log.witnessQuorum) : await log.checkpoint();
  const { size } = parseCheckpoint(parseNote(note).text);
  if (leafIndex >= size) throw new Error(`the witnessed checkpoint (size ${size}) does not yet include the warrant (leaf ${leafIndex}): wait for the witnesses`);
  const path = await log.inclusionProof(leafIndex, size);
  return { leafIndex, treeSize: size, path: path.map(toBase64Url), checkpoint: note };
}

/** Polls until a witnessed checkpoint holds the leaf; undefined after `timeoutMs`. */
export async function waitForInclusion(server: string, trust: TrustConfig, leafIndex: number, timeoutMs: number): Promise<LogInclusion | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await warrantInclusion(server, trust, leafIndex);
    } catch {
      if (Date.now() >= deadline) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** The agency's own client refuses an intercept the warrant does not cover: no custodian is asked. */
export class OutsideWarrant extends Error {
  constructor(
    readonly interceptId: number,
    readonly reason: string,
  ) {
    super(`intercept ${interceptId} is outside the warrant (${reason}): not sent to any custodian`);
    this.name = 'OutsideWarrant';
  }
}

/**
 * Why the warrant does not cover this intercept, or undefined when it does: the delivery record must be
 * signed by the provider the trust configuration names, have a target as sender or recipient inside the
 * warrant's window, and describe the very content handed over (group, sender, device, message id).
 * Custodians check all of this again; checking first keeps a provider's (or a file's) stray message from
 * ever being put to them under this warrant.
 */
export function outsideWarrant(intercept: ExportedIntercept, warrant: SignedWarrant, trust: TrustConfig): string | undefined {
  const signed = intercept.iri;
  if (!signed) return 'it has no delivery record';
  if (!verifyDeliveryRecord(signed, trust)) return 'its delivery record is not signed by the provider';
  const record = signed.record;
  if (!isMessageInScope(warrant.warrant, record)) {
    const { start, end } = warrant.warrant.window;
    return record.serverTime < start || record.serverTime >= end ? 'it was delivered outside the warrant’s window' : 'no target of the warrant sent or received it';
  }
  const cc = intercept.cc;
  if (cc && (cc.groupId !== record.groupId || cc.sender.username !== record.sender || cc.sender.deviceId !== record.senderDevice || cc.clientMessageId !== record.clientMessageId))
    return 'its content is not the message its delivery record describes';
  return undefined;
}

export interface OpenedMessage {
  intercept: ExportedIntercept;
  content: MessageContent;
  evidence: EvidenceBundle;
}

export interface OpenOptions {
  signedTrust: SignedTrustConfig;
  trust: TrustConfig;
  agency: Agency;
  warrant: SignedWarrant;
  commitmentNonce: string;
  inclusion: LogInclusion;
  /** the epoch certificates' source; a batch shares one so each epoch's certificate is fetched and checked once */
  epochCertificate?: typeof fetchEpochCertificate;
}

/** Decrypts one retained message with t custodians, checking every proof, and bundles the evidence. */
export async function openIntercept(options: OpenOptions & { intercept: ExportedIntercept }): Promise<OpenedMessage> {
  const { intercept, trust } = options;
  const refused = outsideWarrant(intercept, options.warrant, trust);
  if (refused) throw new OutsideWarrant(intercept.id, refused);
  if (!intercept.cc || !intercept.iri) throw new Error(`intercept ${intercept.id} lacks content or its delivery record (the warrant must authorise both)`);
  const frame = decodeFrame(fromBase64Url(intercept.cc.frame));
  if (!frame.escrow) throw new Error(`intercept ${intercept.id} carries no escrow field`);
  const field = frame.escrow.field;
  const context = envelopeContextBytes({
    groupId: fromBase64Url(intercept.cc.groupId),
    senderUsername: intercept.cc.sender.username,
    senderDeviceId: intercept.cc.sender.deviceId,
    clientMessageId: intercept.cc.clientMessageId,
  });
  const { certificate, key } = await (options.epochCertificate ?? fetchEpochCertificate)(trust, parseEscrowField(field).epoch);
  const decryption = await decryptWithCustodians({
    trust,
    epochKey: key,
    warrant: options.warrant.warrant,
    field,
    record: intercept.iri.record,
    request: (custodian) =>
      signShareRequest(
        {
          requestId: toBase64Url(randomBytes(16)),
          requestedAt: Date.now(),
          custodian,
          warrant: options.warrant,
          commitmentNonce: options.commitmentNonce,
          inclusion: options.inclusion,
          delivery: intercept.iri!,
          field: toBase64Url(field),
          cancellations: [],
        },
        options.agency.id,
        options.agency.secretKey,
      ),
  });
  const content = decodeContent(open(decryption.contentKey, frame.sealedPayload, context));
  const evidence = buildEvidenceBundle({
    trust: options.signedTrust,
    warrant: options.warrant,
    commitmentNonce: fromBase64Url(options.commitmentNonce),
    inclusion: options.inclusion,
    delivery: intercept.iri,
    field,
    context,
    certificate,
    decryption,
  });
  return { intercept, content, evidence };
}

export type BatchOutcome = { intercept: ExportedIntercept } & ({ ok: true; opened: OpenedMessage } | { ok: false; error: unknown });

/**
 * Decrypts a batch of retained messages (a selection, or everything the warrant covers), a few at a time:
 * each goes through openIntercept, so every one is checked against the warrant on its own and one outside it
 * is refused without asking any custodian, whatever the batch holds. Outcomes are reported as they come
 * (in completion order); if `result` throws for an opened message, that message is reported once more, as
 * failed with that error, and the batch goes on. `signal` stops before the next message is started.
 */
export async function openIntercepts(
  options: OpenOptions,
  intercepts: readonly ExportedIntercept[],
  on: { result?: (outcome: BatchOutcome) => void; concurrency?: number; signal?: AbortSignal } = {},
): Promise<BatchOutcome[]> {
  const certificates = new Map<number, ReturnType<typeof fetchEpochCertificate>>();
  const epochCertificate: typeof fetchEpochCertificate = (trust, epoch) => {
    let certificate = certificates.get(epoch);
    if (!certificate) {
      certificate = fetchEpochCertificate(trust, epoch);
      certificates.set(epoch, certificate);
      certificate.catch(() => certificates.delete(epoch)); // a failure is retried by the next message of that epoch
    }
    return certificate;
  };
  const outcomes: BatchOutcome[] = [];
  let next = 0;
  const worker = async () => {
    while (next < intercepts.length && !on.signal?.aborted) {
      const intercept = intercepts[next++]!;
      let outcome: BatchOutcome;
      try {
        outcome = { intercept, ok: true, opened: await openIntercept({ ...options, epochCertificate, intercept }) };
      } catch (error) {
        outcome = { intercept, ok: false, error };
      }
      outcomes.push(report(outcome));
    }
  };
  // The caller's handler (writing the evidence file, drawing the row) may fail for one message: that message
  // is then reported failed with the handler's error, and the batch goes on with the rest.
  const report = (outcome: BatchOutcome): BatchOutcome => {
    if (!on.result) return outcome;
    try {
      on.result(outcome);
      return outcome;
    } catch (error) {
      if (!outcome.ok) return outcome;
      const failed: BatchOutcome = { intercept: outcome.intercept, ok: false, error };
      try {
        on.result(failed);
      } catch {
        // reported in the returned outcomes all the same
      }
      return failed;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(on.concurrency ?? 4, intercepts.length)) }, worker));
  return outcomes;
}
