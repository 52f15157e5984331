/**
 * The evidence bundle: everything a third party (a court, the Investigatory Powers Commissioner, a
 * defendant's expert) needs to check a decryption by itself — the signed trust configuration, the
 * double-locked warrant and the opening of its log commitment with the inclusion proof, the provider's
 * signed delivery record and the escrow field, the epoch certificate, t decryption shares with their
 * Chaum–Pedersen proofs, each custodian's signed release record, the message context and the recovered
 * key. `verifyEvidenceBundle` re-derives the key from the shares and checks every link; it trusts only
 * the pinned trust-root key (and, for log inclusion, the log and witness keys that configuration names).
 */
import { fromBase64Url, toBase64Url } from '@doublelock/protocol';
import { z } from 'zod';
import { type SignedDeliveryRecord, deliveryLabel, signedDeliveryRecordSchema, verifyDeliveryRecord } from './delivery.ts';
import { type EpochCertificate, openEpochCertificate } from './dkg.ts';
import type { Decryption } from './agency.ts';
import { combineShares, decryptWithSharedPoint, verifyDecryptionShare } from './elgamal.ts';
import { escrowFieldDigest, escrowFieldValid, parseEscrowField, verifyEscrowFieldWithLabel } from './escrow.ts';
import { equalBytes } from './group.ts';
import { type LogInclusion, type LogInclusionVerifier, inclusionSchema, logInclusionVerifier, messageDigest, signedReleaseRecordSchema, verifyReleaseRecord, warrantLogEntry } from './logEntries.ts';
import { shareBinding } from './release.ts';
import { type SignedTrustConfig, custodianStaticKeys, openTrustConfig, signedTrustConfigSchema } from './trust.ts';
import { type SignedWarrant, commitToWarrant, isMessageInScope, signedWarrantSchema, warrantStatus } from './warrant.ts';
import { certificateFromJson, certificateToJson, epochCertificateJson } from './wire.ts';

export const evidenceBundleSchema = z.object({
  format: z.literal(1),
  trust: signedTrustConfigSchema,
  warrant: signedWarrantSchema,
  commitmentNonce: z.string(),
  inclusion: inclusionSchema,
  delivery: signedDeliveryRecordSchema,
  field: z.string(),
  context: z.string(),
  certificate: epochCertificateJson,
  shares: z.array(z.object({ custodian: z.number().int(), share: z.string(), proof: z.string() })),
  releases: z.array(signedReleaseRecordSchema),
  contentKey: z.string(),
});
export type EvidenceBundle = z.infer<typeof evidenceBundleSchema>;

/** Throws with the first link that does not hold; returns the verified content key. */
export function verifyEvidenceBundle(input: unknown, trustRoot: string | Uint8Array, verifyInclusion?: LogInclusionVerifier): Uint8Array {
  const bundle = evidenceBundleSchema.parse(input);
  const trust = openTrustConfig(bundle.trust, trustRoot);
  const w = bundle.warrant.warrant;
  const record = bundle.delivery.record;
  const releasedAt = Math.min(...bundle.releases.map((r) => r.record.releasedAt));
  if (bundle.releases.length === 0) throw new Error('no release records');
  const status = warrantStatus(bundle.warrant, trust, releasedAt);
  if (!status.inForce) throw new Error(`the warrant was not in force when the shares were released: ${status.detail}`);
  const commitment = commitToWarrant(w, fromBase64Url(bundle.commitmentNonce)).commitment;
  const inLog = (verifyInclusion ?? logInclusionVerifier(trust.log))(warrantLogEntry(commitment, w), bundle.inclusion, bundle.inclusion.checkpoint);
  if (!inLog) throw new Error('the warrant commitment is not proven to be in the transparency log');
  if (!verifyDeliveryRecord(bundle.delivery, trust)) throw new Error('the delivery record is not signed by the provider');
  const field = fromBase64Url(bundle.field);
  if (toBase64Url(escrowFieldDigest(field)) !== record.fieldDigest) throw new Error('the escrow field is not the one delivered');
  if (!isMessageInScope(w, record) || record.serverTime < status.from || record.serverTime >= status.until) throw new Error('the message is outside the warrant');
  const parsed = parseEscrowField(field);
  const key = openEpochCertificate(certificateFromJson(bundle.certificate), custodianStaticKeys(trust), trust.deployment, trust.threshold);
  if (key.epoch !== parsed.epoch) throw new Error('the certificate is for another epoch');
  const label = deliveryLabel(record, parsed.epoch);
  if (!escrowFieldValid(key.publicKey, parsed, label)) throw new Error('the escrow field is not a valid TDH2 ciphertext for the delivered message');
  const indices = new Set(bundle.shares.map((s) => s.custodian));
  if (indices.size !== bundle.shares.length || bundle.shares.length < trust.threshold) throw new Error(`need ${trust.threshold} distinct custodians’ shares`);
  const shares = bundle.shares.map((s) => {
    const share = { index: s.custodian, share: fromBase64Url(s.share), proof: fromBase64Url(s.proof) };
    const vk = key.verificationKeys[s.custodian - 1];
    if (!vk || !verifyDecryptionShare(share, vk, parsed.u, shareBinding(w, s.custodian, field))) throw new Error(`custodian ${s.custodian}'s share proof does not verify`);
    const release = bundle.releases.find((r) => r.record.custodian === s.custodian);
    const custodian = trust.custodians[s.custodian - 1]!;
    if (!release || !verifyReleaseRecord(release, custodian.signingKey)) throw new Error(`no valid release record from custodian ${s.custodian}`);
    if (release.record.warrantCommitment !== toBase64Url(commitment) || release.record.messageDigest !== messageDigest(commitment, record.messageId))
      throw new Error(`custodian ${s.custodian}'s release record is for another warrant or message`);
    return share;
  });
  const contentKey = decryptWithSharedPoint(key.publicKey, parsed, combineShares(shares.slice(0, trust.threshold)), label);
  if (!verifyEscrowFieldWithLabel({ epoch: key.epoch, publicKey: key.publicKey }, field, contentKey, label)) throw new Error('the shares do not open the escrow field');
  if (!equalBytes(contentKey, fromBase64Url(bundle.contentKey))) throw new Error('the bundle’s content key is not the one the shares give');
  return contentKey;
}

/** Assembles the bundle from what the agency holds after `decryptWithCustodians`. */
export function buildEvidenceBundle(parts: {
  trust: SignedTrustConfig;
  warrant: SignedWarrant;
  commitmentNonce: Uint8Array;
  inclusion: LogInclusion;
  delivery: SignedDeliveryRecord;
  field: Uint8Array;
  context: Uint8Array;
  certificate: EpochCertificate;
  decryption: Decryption;
}): EvidenceBundle {
  return {
    format: 1,
    trust: parts.trust,
    warrant: parts.warrant,
    commitmentNonce: toBase64Url(parts.commitmentNonce),
    inclusion: parts.inclusion,
    delivery: parts.delivery,
    field: toBase64Url(parts.field),
    context: toBase64Url(parts.context),
    certificate: certificateToJson(parts.certificate),
    shares: parts.decryption.shares.map((s) => ({ custodian: s.index, share: toBase64Url(s.share), proof: toBase64Url(s.proof) })),
    releases: parts.decryption.releases.filter((r) => parts.decryption.shares.some((s) => s.index === r.record.custodian)),
    contentKey: toBase64Url(parts.decryption.contentKey),
  };
}
