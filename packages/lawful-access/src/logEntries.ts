/**
 * What lawful access writes to the public transparency log (RFC 9162 leaves; @doublelock/log):
 *   - a warrant entry: the hiding commitment to the warrant, its revision and its day of issue — the
 *     public learns that a warrant exists and when, not whom it targets;
 *   - a release entry per decryption share a custodian released: which warrant (by commitment), which
 *     custodian, a hash of the message id, and when — so per-warrant counts and public statistics
 *     (messages decrypted per month) are recomputed from the log rather than asserted;
 *   - an unsealing entry, after the secrecy period: the signed warrant and the commitment's nonce;
 *   - refusal and cancellation entries: the judge's signed refusal notice, the Secretary of State's signed
 *     cancellation — so they bind everyone who reads the log, not only whoever was sent them.
 * Each entry starts with its own label so the log's other users can never produce a colliding leaf.
 * Custodians verify inclusion through a `LogInclusionVerifier`; `logInclusionVerifier` builds one on the
 * log's client-side verifier (checkpoint signature, witness quorum, RFC 9162 inclusion proof).
 */
import { fromBase64Url, lengthPrefixed, splitLengthPrefixed, toBase64Url } from '@doublelock/protocol';
import { hashLeaf, openCheckpoint, parseCheckpoint, parseNote, requireWitnesses, verifyInclusion } from '@doublelock/log/verifier';
import { sha256 } from '@noble/hashes/sha2.js';
import { z } from 'zod';
import { canonicalBytes } from './canonicalJson.ts';
import { DAY_MS } from './epoch.ts';
import { type Cancellation, type RefusalNotice, type SignedWarrant, cancellationSchema, refusalNoticeSchema, signedWarrantSchema } from './warrant.ts';
import { signDocument, verifyDocument } from './signature.ts';
import { urgentNoticeSchema } from './urgentNotices.ts';

/** v1 (before secrecy periods): commitment, revision, issue day. v2 adds the unsealing deadline. */
export const WARRANT_ENTRY_LABEL = 'doublelock/log/warrant/v1';
export const WARRANT_ENTRY_V2_LABEL = 'doublelock/log/warrant/v2';
export const RELEASE_ENTRY_LABEL = 'doublelock/log/release/v1';
export const UNSEAL_ENTRY_LABEL = 'doublelock/log/warrant-unsealed/v1';
export const RELEASE_RECORD_LABEL = 'doublelock/lawful-access/release-record/v1';

/**
 * The public part of a warrant entry: its commitment, its revision, the UTC day it was issued, and the
 * UTC day by which it must be unsealed (unsealing.ts: the end of its secrecy period) — so anyone reading
 * the log alone can tell when an opening is overdue. Custodians recompute these bytes from the warrant
 * they are shown, so the deadline in the log is the warrant's own.
 */
export function warrantLogEntry(commitment: Uint8Array, warrant: { revision: number; issuedAt: number; window: { end: number }; secrecyDays?: number | undefined }): Uint8Array {
  if (!(commitment instanceof Uint8Array) || commitment.length !== 32) throw new RangeError('warrant commitment must be 32 bytes');
  return lengthPrefixed(WARRANT_ENTRY_V2_LABEL, commitment, String(warrant.revision), String(Math.floor(warrant.issuedAt / DAY_MS) * DAY_MS), String(unsealBy(warrant)));
}

/** The default secrecy period, in days after a warrant's window ends, when the warrant names none. */
export const DEFAULT_SECRECY_DAYS = 365;

/** The UTC midnight by which a warrant must be unsealed: the first at or after its window's end plus its secrecy period. */
export function unsealBy(warrant: { window: { end: number }; secrecyDays?: number | undefined }): number {
  return Math.ceil((warrant.window.end + (warrant.secrecyDays ?? DEFAULT_SECRECY_DAYS) * DAY_MS) / DAY_MS) * DAY_MS;
}

/**
 * Unsealing, after the secrecy period: the signed warrant and its commitment nonce, so anyone can open the
 * commitment logged earlier and check every release made under it against what was authorised.
 */
export function unsealLogEntry(warrant: SignedWarrant, nonce: Uint8Array): Uint8Array {
  if (!(nonce instanceof Uint8Array) || nonce.length !== 32) throw new RangeError('commitment nonce must be 32 bytes');
  return lengthPrefixed(UNSEAL_ENTRY_LABEL, canonicalBytes(signedWarrantSchema.parse(warrant)), nonce);
}

export const inclusionSchema = z.object({
  leafIndex: z.number().int().nonnegative(),
  treeSize: z.number().int().positive(),
  path: z.array(z.string().regex(/^[A-Za-z0-9_-]{43}$/)),
  /** the checkpoint note (C2SP signed-note), with witness cosignatures */
  checkpoint: z.string().min(1).max(100_000),
});
export type LogInclusion = z.infer<typeof inclusionSchema>;

/** `(entry, proof, checkpoint) => boolean`: whether `entry` is in the log at a trusted checkpoint. */
export type LogInclusionVerifier = (entry: Uint8Array, proof: LogInclusion, checkpoint: string) => boolean;

/**
 * The production verifier: the checkpoint is signed by the log's key, cosigned by at least `witnessQuorum`
 * of the witnesses (which rules out a split view unless that many witnesses collude with the log), and
 * the inclusion proof leads from the entry's leaf hash to its root at the stated size.
 */
export function logInclusionVerifier(options: { verifierKey: string; witnesses: readonly string[]; witnessQuorum: number }): LogInclusionVerifier {
  return (entry, proof, checkpoint) => {
    try {
      const cp = openCheckpoint(checkpoint, options.verifierKey);
      if (options.witnessQuorum > 0) requireWitnesses(checkpoint, options.witnesses, options.witnessQuorum);
      if (proof.treeSize !== cp.size) return false;
      verifyInclusion(proof.leafIndex, cp.size, hashLeaf(entry), proof.path.map(fromBase64Url), cp.rootHash);
      return true;
    } catch {
      return false;
    }
  };
}

/**
 * The log-attested time of a checkpoint: the time by which the quorum of witnesses says they saw it
 * (tlog-cosignature timestamps, seconds). With k required witnesses, the k-th earliest of their
 * timestamps: up to k − 1 witnesses colluding with an agency cannot move it earlier. Everything included
 * in the checkpoint was in the log at that time at the latest, so a warrant proven by this checkpoint
 * was logged no later than this — and release.ts starts its window no earlier (a backdated document
 * cannot reach back past its log entry). Throws when the quorum is not met.
 */
export function witnessedAt(checkpoint: string, log: { witnesses: readonly string[]; witnessQuorum: number }): number {
  const k = Math.max(1, log.witnessQuorum);
  const times = requireWitnesses(checkpoint, log.witnesses, k)
    .map((w) => Number(w.timestamp) * 1000)
    .sort((a, b) => a - b);
  return times[k - 1]!;
}

/**
 * Remembers the root of every checkpoint size it accepted and refuses a different root for the same size:
 * a log showing this custodian two different trees (a split view) is caught even if witnesses collude.
 * (Consistency across sizes is what the witnesses check before they cosign.)
 */
export function splitViewGuard(verify: LogInclusionVerifier, seen: Map<number, string> = new Map()): LogInclusionVerifier {
  return (entry, proof, checkpoint) => {
    if (!verify(entry, proof, checkpoint)) return false;
    const cp = parseCheckpoint(parseNote(checkpoint).text);
    const root = toBase64Url(cp.rootHash);
    const previous = seen.get(cp.size);
    if (previous !== undefined && previous !== root) return false;
    seen.set(cp.size, root);
    return true;
  };
}

export const releaseRecordSchema = z.object({
  custodian: z.number().int().min(1).max(255),
  warrantCommitment: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  /** SHA-256 of (warrant commitment ‖ message id): countable, not linkable to the message by the public */
  messageDigest: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  requestId: z.string(),
  epoch: z.number().int().nonnegative(),
  releasedAt: z.number().int().nonnegative(),
  /** under an urgent warrant: tags custodians link to the targets of later urgent warrants (urgentNotices.ts) */
  urgent: urgentNoticeSchema.optional(),
});
export type ReleaseRecord = z.infer<typeof releaseRecordSchema>;
export const signedReleaseRecordSchema = z.object({ record: releaseRecordSchema, signature: z.string() });
export type SignedReleaseRecord = z.infer<typeof signedReleaseRecordSchema>;

export const messageDigest = (warrantCommitment: Uint8Array, messageId: string): string =>
  toBase64Url(sha256(lengthPrefixed('doublelock/log/release/message/v1', warrantCommitment, messageId)));

export function signReleaseRecord(record: ReleaseRecord, secretKey: Uint8Array): SignedReleaseRecord {
  const parsed = releaseRecordSchema.parse(record);
  return { record: parsed, signature: signDocument(RELEASE_RECORD_LABEL, parsed, secretKey) };
}

export function verifyReleaseRecord(signed: SignedReleaseRecord, custodianSigningKey: string): boolean {
  return verifyDocument(RELEASE_RECORD_LABEL, signed.record, signed.signature, custodianSigningKey);
}

/** The log leaf for a release: the signed record itself, so anyone can check which custodian released what, and when. */
export function releaseLogEntry(signed: SignedReleaseRecord): Uint8Array {
  return lengthPrefixed(RELEASE_ENTRY_LABEL, canonicalBytes(releaseRecordSchema.parse(signed.record)), signed.signature);
}

/** The signed release record a log entry carries, or undefined when the entry is not a well-formed release. */
export function parseReleaseLogEntry(entry: Uint8Array): SignedReleaseRecord | undefined {
  try {
    const [label, record, signature] = splitLengthPrefixed(entry, 3) as [Uint8Array, Uint8Array, Uint8Array];
    if (new TextDecoder().decode(label) !== RELEASE_ENTRY_LABEL) return undefined;
    const parsed = releaseRecordSchema.safeParse(JSON.parse(new TextDecoder().decode(record)));
    return parsed.success ? { record: parsed.data, signature: new TextDecoder().decode(signature) } : undefined;
  } catch {
    return undefined;
  }
}

export const REFUSAL_ENTRY_LABEL = 'doublelock/log/warrant-refused/v1';
export const CANCELLATION_ENTRY_LABEL = 'doublelock/log/warrant-cancelled/v1';

/** The log leaf for a Judicial Commissioner's refusal: its public notice (refusalNoticeSchema), signed. */
export function refusalLogEntry(notice: RefusalNotice): Uint8Array {
  return lengthPrefixed(REFUSAL_ENTRY_LABEL, canonicalBytes(refusalNoticeSchema.parse(notice)));
}

/** The log leaf for a Secretary of State's cancellation (s.39), signed, naming its revision and nonce. */
export function cancellationLogEntry(c: Cancellation): Uint8Array {
  return lengthPrefixed(CANCELLATION_ENTRY_LABEL, canonicalBytes(cancellationSchema.parse(c)));
}

/** A refusal or cancellation a log entry carries (signatures unchecked: verify against the trust configuration). */
export function parseDecisionLogEntry(entry: Uint8Array): { refusal: RefusalNotice } | { cancellation: Cancellation } | undefined {
  try {
    const [label, body] = splitLengthPrefixed(entry, 2) as [Uint8Array, Uint8Array];
    const kind = new TextDecoder().decode(label);
    const json = JSON.parse(new TextDecoder().decode(body)) as unknown;
    if (kind === REFUSAL_ENTRY_LABEL) {
      const parsed = refusalNoticeSchema.safeParse(json);
      return parsed.success ? { refusal: parsed.data } : undefined;
    }
    if (kind === CANCELLATION_ENTRY_LABEL) {
      const parsed = cancellationSchema.safeParse(json);
      return parsed.success ? { cancellation: parsed.data } : undefined;
    }
    return undefined;
  } catch {
    return undefined;
  }
}
